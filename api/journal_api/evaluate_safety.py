"""`python -m journal_api safety-eval`: score the crisis screen on the labelled sentences.

Embeds `knowledge/crisis_eval.json` with the real model server, screens every sentence with
`services/safety.py`, and prints precision, recall and F1 per split (development: the
sentences the rules, exemplars and threshold were tuned on; holdout: written after they were
frozen, so its numbers are the honest estimate for new text), the threshold, and every
misclassified sentence with what fired. `--tune development|all` chooses the threshold on
that split instead (the largest margin that keeps recall at `--min-recall`) and scores with it:
the shipped threshold is `--tune all`; `--tune development` shows how a threshold chosen
without the holdout sentences fares on them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
from collections.abc import Sequence

from journal_api import settings as settings_module
from journal_api.clients import inference
from journal_api.knowledge import crisis, vectors
from journal_api.services import safety

GOAL_RECALL = 0.95
GOAL_PRECISION = 0.80
SPLITS = ("development", "holdout", "all")


@dataclasses.dataclass(frozen=True)
class Scores:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclasses.dataclass(frozen=True)
class Report:
    threshold: float
    scores: dict[str, Scores]  # by split name, and "all"
    errors: list[tuple[crisis.LabelledSentence, safety.Screening]]


def score(labels: Sequence[bool], flags: Sequence[bool]) -> Scores:
    pairs = list(zip(labels, flags, strict=True))
    return Scores(
        tp=sum(y and f for y, f in pairs),
        fp=sum(f and not y for y, f in pairs),
        fn=sum(y and not f for y, f in pairs),
        tn=sum(not y and not f for y, f in pairs),
    )


def tune(
    labels: Sequence[bool], screenings: Sequence[safety.Screening], *, min_recall: float
) -> float:
    """The largest margin threshold at which recall (rules included) is at least ``min_recall``.

    Largest, because every lower threshold only adds flags: of the thresholds meeting the
    recall goal it is the one with the fewest false alarms.
    """
    positives = [s for y, s in zip(labels, screenings, strict=True) if y]
    needed = min_recall * len(positives)
    # Positives the rules catch count at any threshold; the rest are caught in margin order.
    by_rules = sum(bool(s.rule_ids) for s in positives)
    margins = sorted((s.margin for s in positives if not s.rule_ids), reverse=True)
    for caught, margin in enumerate(margins, start=by_rules + 1):
        if caught >= needed:
            return margin
    return min(margins, default=0.0)


def report(
    sentences: Sequence[crisis.LabelledSentence],
    screenings: Sequence[safety.Screening],
    *,
    threshold: float,
) -> Report:
    """Precision, recall and F1 per split, re-deciding every screening at ``threshold``."""
    flags = [
        safety.decide(rule_ids=s.rule_ids, margin=s.margin, threshold=threshold) for s in screenings
    ]
    scores = {}
    for split in SPLITS:
        rows = [
            (x.crisis, f)
            for x, f in zip(sentences, flags, strict=True)
            if split in ("all", x.split)
        ]
        scores[split] = score([y for y, _ in rows], [f for _, f in rows])
    errors = [(x, s) for x, s, f in zip(sentences, screenings, flags, strict=True) if f != x.crisis]
    return Report(threshold=threshold, scores=scores, errors=errors)


async def evaluate(
    *,
    embed: vectors.Embed,
    model: str,
    threshold: float | None = None,
    tune_on: str | None = None,
    min_recall: float = GOAL_RECALL,
) -> Report:
    """Screen the labelled set and score it.

    Args:
        embed: the embedding call.
        model: names the embedding model (keys the exemplar cache).
        threshold: score at this margin instead of the shipped one.
        tune_on: "development" or "all": choose the threshold on that split instead.
        min_recall: the recall the tuning keeps.
    """
    language = crisis.language()
    sentences = crisis.evaluation_set().sentences
    screenings = await safety.screen_texts(
        [x.text for x in sentences], embed=embed, model=model, language=language
    )
    if tune_on is not None:
        rows = [
            (x.crisis, s)
            for x, s in zip(sentences, screenings, strict=True)
            if tune_on in ("all", x.split)
        ]
        threshold = tune([y for y, _ in rows], [s for _, s in rows], min_recall=min_recall)
    if threshold is None:
        threshold = language.threshold
    return report(sentences, screenings, threshold=threshold)


def format_report(result: Report) -> str:
    lines = [f"threshold (margin) {result.threshold:.4f}"]
    for split, n in result.scores.items():
        lines.append(
            f"{split:<12} precision {n.precision:.3f}  recall {n.recall:.3f}  F1 {n.f1:.3f}  "
            f"(tp {n.tp}, fp {n.fp}, fn {n.fn}, tn {n.tn})"
        )
    overall = result.scores["all"]
    met = overall.recall >= GOAL_RECALL and overall.precision >= GOAL_PRECISION
    lines.append(
        f"goal recall >= {GOAL_RECALL} at precision >= {GOAL_PRECISION} on all: "
        f"{'met' if met else 'NOT met'}"
    )
    lines.append(f"misclassified ({len(result.errors)}):")
    for sentence, s in result.errors:
        verdict = "missed" if sentence.crisis else "false alarm"
        fired = ", ".join(s.rule_ids) or "-"
        lines.append(
            f"  {verdict:<11} [{sentence.split}/{sentence.kind}] margin {s.margin:+.3f} "
            f"rules {fired}: {sentence.text}"
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inference-url", help="overrides JOURNAL_API_INFERENCE_URL")
    parser.add_argument(
        "--threshold", type=float, help="score at this margin instead of the shipped one"
    )
    parser.add_argument(
        "--tune",
        choices=("development", "all"),
        help="choose the threshold on this split: the largest one meeting --min-recall",
    )
    parser.add_argument("--min-recall", type=float, default=GOAL_RECALL)


def main(args: argparse.Namespace, settings: settings_module.Settings) -> int:
    """Run the evaluation against ``settings.inference_url``; the exit status of the command."""
    # One INFO line per request would bury the report.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    client = inference.InferenceClient.from_settings(settings)
    if client is None:
        print("safety-eval: set JOURNAL_API_INFERENCE_URL or pass --inference-url")
        return 2

    async def run() -> Report:
        try:
            return await evaluate(
                embed=client.embed,
                model=client.base_url,
                threshold=args.threshold,
                tune_on=args.tune,
                min_recall=args.min_recall,
            )
        finally:
            await client.aclose()

    print(format_report(asyncio.run(run())))
    return 0
