"""`python -m journal_api safety-eval` and the numbers it computes:

- precision, recall and F1 from counts; the threshold tuning keeps the asked recall with
  the fewest flags, counting what the rules already catch;
- the labelled set is large enough, balanced-ish, and holds hard negatives and indirect
  positives;
- on the real model server, the shipped threshold meets recall >= 0.95 at precision >= 0.8
  over the whole labelled set, and the command prints those numbers, the threshold and
  the misclassified sentences.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from journal_api import evaluate_safety
from journal_api.clients import breaker, inference
from journal_api.knowledge import crisis
from journal_api.services import safety

from tests.support.inference import InferenceServer


def screening(margin: float, *rules: str) -> safety.Screening:
    return safety.Screening(
        flagged=bool(rules) or margin >= 0.0,
        rule_ids=rules,
        margin=margin,
        threshold=0.0,
        exemplar_id=None,
        sentences=1,
        language_version="t",
    )


def test_scores_from_counts() -> None:
    s = evaluate_safety.score([True, True, True, False, False], [True, True, False, True, False])
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 1, 1, 1)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)


def test_tuning_keeps_recall_with_the_largest_threshold() -> None:
    labels = [True, True, True, True, False]
    screenings = [
        screening(-1, "rule"),
        screening(0.3),
        screening(0.1),
        screening(-0.2),
        screening(0.2),
    ]
    # 3 of 4 positives: the rule's one, then margins 0.3 and 0.1.
    assert evaluate_safety.tune(labels, screenings, min_recall=0.75) == 0.1
    assert evaluate_safety.tune(labels, screenings, min_recall=0.5) == 0.3
    assert evaluate_safety.tune(labels, screenings, min_recall=1.0) == -0.2


def test_labelled_set_is_balanced_with_hard_negatives_and_indirect_positives() -> None:
    sentences = crisis.evaluation_set().sentences
    kinds = collections.Counter((s.crisis, s.kind) for s in sentences)
    positives = sum(s.crisis for s in sentences)
    assert len(sentences) >= 200
    assert 0.35 <= positives / len(sentences) <= 0.65
    assert kinds[(False, "hard")] >= 50
    assert kinds[(True, "indirect")] >= 50
    texts = {s.text for s in sentences}
    assert {"This deadline is killing me.", "I could murder a pizza right now."} <= texts
    assert "Everyone would be better off without me." in texts
    assert {s.split for s in sentences} == {"development", "holdout"}


@pytest.fixture(scope="module")
async def report(inference_server: InferenceServer) -> AsyncIterator[evaluate_safety.Report]:
    client = inference.InferenceClient(
        inference_server.url,
        timeout=60,
        retries=1,
        retry_base_seconds=0.1,
        breaker=breaker.CircuitBreaker(failures=5, reset_seconds=1, max_reset_seconds=5),
    )
    try:
        yield await evaluate_safety.evaluate(embed=client.embed, model=client.base_url)
    finally:
        await client.aclose()


def test_shipped_threshold_meets_the_goal_on_the_labelled_set(
    report: evaluate_safety.Report,
) -> None:
    overall = report.scores["all"]
    assert report.threshold == crisis.language().threshold
    assert overall.tp + overall.fn == sum(s.crisis for s in crisis.evaluation_set().sentences)
    # If the embedding model changed, re-tune: python -m journal_api safety-eval --tune all
    assert overall.recall >= evaluate_safety.GOAL_RECALL, evaluate_safety.format_report(report)
    assert overall.precision >= evaluate_safety.GOAL_PRECISION, evaluate_safety.format_report(
        report
    )


def test_misclassified_sentences_are_exactly_the_disagreements(
    report: evaluate_safety.Report,
) -> None:
    overall = report.scores["all"]
    assert len(report.errors) == overall.fp + overall.fn
    assert all(
        (s.margin >= report.threshold or bool(s.rule_ids)) != x.crisis for x, s in report.errors
    )


def run_command(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOURNAL_API_")} | (
        env or {}
    )
    return subprocess.run(
        [sys.executable, "-m", "journal_api", "safety-eval", *args],
        cwd=cwd,  # away from any .env in the checkout
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_command_prints_the_numbers_threshold_and_errors(
    inference_server: InferenceServer, tmp_path: Path
) -> None:
    done = run_command("--inference-url", inference_server.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    threshold = crisis.language().threshold
    assert f"threshold (margin) {threshold:.4f}" in out
    all_line = next(line for line in out.splitlines() if line.startswith("all "))
    precision = float(all_line.split("precision ")[1].split()[0])
    recall = float(all_line.split("recall ")[1].split()[0])
    assert recall >= 0.95
    assert precision >= 0.8
    assert "goal recall >= 0.95 at precision >= 0.8 on all: met" in out
    assert "misclassified (" in out


def test_command_without_a_model_server_says_what_to_set(tmp_path: Path) -> None:
    done = run_command(cwd=tmp_path)
    assert done.returncode == 2
    assert "JOURNAL_API_INFERENCE_URL" in done.stdout
