"""Crisis safety: flag text that expresses self-harm or suicidal intent, say why without
repeating it, and choose the support shown instead of suggestions.

Two detectors, tuned for recall (a missed sentence costs far more than a supportive message
shown once too often):

1. **Phrase rules**: case-insensitive word-boundary regexes over the whole text
   (`knowledge/crisis_language.json`, e.g. "kill myself", "better off without me").
2. **Semantic similarity**: each sentence is embedded and compared with curated first-person
   exemplars and with a contrast set of everyday sentences that merely sound alike ("this
   deadline is killing me"). A sentence is flagged when its best exemplar similarity beats its
   best contrast similarity by the tuned threshold (a margin, so idioms close to both sets
   are not flagged just for mentioning death).

`screen` is pure (vectors in, `Screening` out); `screen_texts` embeds and calls it;
`audit_details` is what an audit event may hold: ids, scores and versions, never the text.
Called by the suggestion routes and `evaluate_safety.py`; the worker hook is `screen_texts`
on a freshly analysed entry followed by `audit.record(..., details=audit_details(...))`.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from journal_api.knowledge import crisis, vectors
from journal_api.knowledge import resources as resources_module
from journal_api.schemas import suggestions as schemas

EVENT_TYPE = "safety_flagged"
# Sentences embedded per text; the rules still read all of it. 256 sentences is a long entry.
MAX_SENTENCES = 256
# The encoder reads 256 tokens (about 1000 characters); the server refuses 20000.
MAX_SENTENCE_CHARS = 2000
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
# Curly apostrophes from phones would slip past every "don't"-style rule.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

_cache = vectors.VectorCache()


@dataclasses.dataclass(frozen=True)
class Screening:
    """The verdict on one text, and what led to it (ids and numbers only).

    Attributes:
        flagged: a rule matched, or some sentence's margin reached the threshold.
        rule_ids: the rules that matched, in file order.
        margin: the best sentence's exemplar-minus-contrast similarity (-2 when no sentence).
        threshold: the margin threshold applied.
        exemplar_id: the exemplar nearest to that sentence.
        sentences: how many sentences were compared.
        language_version: the version of the crisis language used.
    """

    flagged: bool
    rule_ids: tuple[str, ...]
    margin: float
    threshold: float
    exemplar_id: str | None
    sentences: int
    language_version: str

    @property
    def by_similarity(self) -> bool:
        return self.margin >= self.threshold


def decide(*, rule_ids: Sequence[str], margin: float, threshold: float) -> bool:
    """The verdict: any rule matched, or the best margin reached the threshold."""
    return bool(rule_ids) or margin >= threshold


def normalise(text: str) -> str:
    return text.translate(_APOSTROPHES)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` worth embedding (with a letter in them), at most the cap."""
    parts = (part.strip() for part in _SENTENCE_END.split(normalise(text)))
    kept = [part[:MAX_SENTENCE_CHARS] for part in parts if any(c.isalpha() for c in part)]
    return kept[:MAX_SENTENCES]


def rule_ids(text: str, language: crisis.CrisisLanguage) -> tuple[str, ...]:
    """The ids of the phrase rules that match anywhere in ``text``."""
    text = normalise(text)
    return tuple(rule.id for rule in language.rules if rule.regex.search(text))


def margins(
    sentence_vectors: Sequence[vectors.Vector],
    exemplar_vectors: Sequence[vectors.Vector],
    contrast_vectors: Sequence[vectors.Vector],
) -> tuple[list[float], list[int]]:
    """Each sentence's exemplar-minus-contrast similarity and its nearest exemplar's index.

    Two matrix products: every sentence of a batch against every exemplar and contrast
    sentence at once (a Python loop over them cost as much as the analysis itself).
    """
    if not sentence_vectors:
        return [], []
    s = np.asarray(sentence_vectors, dtype=np.float64)
    to_exemplars = s @ np.asarray(exemplar_vectors, dtype=np.float64).T
    to_contrast = s @ np.asarray(contrast_vectors, dtype=np.float64).T
    margin = to_exemplars.max(axis=1) - to_contrast.max(axis=1)
    return margin.tolist(), to_exemplars.argmax(axis=1).tolist()


def verdict(
    text: str,
    *,
    language: crisis.CrisisLanguage,
    sentence_margins: Sequence[float],
    nearest_exemplars: Sequence[int],
    threshold: float | None = None,  # None: the threshold shipped with the language
) -> Screening:
    """Screen ``text`` given its sentences' `margins` (pure: no model call)."""
    limit = language.threshold if threshold is None else threshold
    best, nearest = -2.0, None
    for margin, index in zip(sentence_margins, nearest_exemplars, strict=True):
        if margin > best:
            best, nearest = margin, language.exemplars[index].id
    rules = rule_ids(text, language)
    return Screening(
        flagged=decide(rule_ids=rules, margin=best, threshold=limit),
        rule_ids=rules,
        margin=best,
        threshold=limit,
        exemplar_id=nearest,
        sentences=len(sentence_margins),
        language_version=language.version,
    )


def screen(
    text: str,
    *,
    language: crisis.CrisisLanguage,
    sentence_vectors: Sequence[vectors.Vector],
    exemplar_vectors: Sequence[vectors.Vector],
    contrast_vectors: Sequence[vectors.Vector],
    threshold: float | None = None,  # None: the threshold shipped with the language
) -> Screening:
    """Screen ``text`` given the vectors of its `sentences` (pure: no model call)."""
    sentence_margins, nearest = margins(sentence_vectors, exemplar_vectors, contrast_vectors)
    return verdict(
        text,
        language=language,
        sentence_margins=sentence_margins,
        nearest_exemplars=nearest,
        threshold=threshold,
    )


async def screen_texts(
    texts: Sequence[str],
    *,
    embed: vectors.Embed,
    model: str,
    language: crisis.CrisisLanguage | None = None,
    threshold: float | None = None,
    batch: int = 64,  # the model server's texts-per-request limit
) -> list[Screening]:
    """Screen each of ``texts``, embedding all their sentences in as few requests as allowed.

    Args:
        texts: entry texts (title and content joined) or single sentences.
        embed: the embedding call (the model server's `embedding` model).
        model: identifies that model, so cached exemplar vectors are never mixed across models.
        language: defaults to the shipped crisis language.
        threshold: overrides the shipped threshold (the evaluation command's tuning).
    """
    language = language or crisis.language()
    exemplars = await _cache.get(
        name="crisis-exemplars",
        version=language.version,
        model=model,
        texts=[s.text for s in language.exemplars],
        embed=embed,
    )
    contrast = await _cache.get(
        name="crisis-contrast",
        version=language.version,
        model=model,
        texts=[s.text for s in language.contrast],
        embed=embed,
    )
    split = [sentences(text) for text in texts]
    flat = [sentence for parts in split for sentence in parts]
    embedded: list[list[float]] = []
    for start in range(0, len(flat), batch):
        embedded.extend(await embed(flat[start : start + batch]))
    # All sentences of the batch against the exemplars at once, then one verdict per text.
    all_margins, all_nearest = margins(embedded, exemplars, contrast)
    screenings, offset = [], 0
    for text, parts in zip(texts, split, strict=True):
        end = offset + len(parts)
        screenings.append(
            verdict(
                text,
                language=language,
                sentence_margins=all_margins[offset:end],
                nearest_exemplars=all_nearest[offset:end],
                threshold=threshold,
            )
        )
        offset = end
    return screenings


def audit_details(
    screening: Screening, *, entry_id: uuid.UUID, model_version: str | None
) -> dict[str, Any]:
    """The `details` of a `safety_flagged` audit event: enough to review the decision later,
    and nothing of what the user wrote (no text, no matched phrase, no sentence index).

    Args:
        screening: a flagged screening.
        entry_id: the entry it concerns (the event's `user_id` says whose).
        model_version: the embedding model's version, to re-check the margin against.
    """
    return {
        "entry_id": str(entry_id),
        "detectors": [
            name
            for name, fired in (
                ("rules", bool(screening.rule_ids)),
                ("similarity", screening.by_similarity),
            )
            if fired
        ],
        "rule_ids": list(screening.rule_ids),
        "margin": round(screening.margin, 4),
        "threshold": screening.threshold,
        "nearest_exemplar_id": screening.exemplar_id,
        "sentences": screening.sentences,
        "language_version": screening.language_version,
        "model_version": model_version,
    }


def support(resources: resources_module.Resources, *, locale: str | None) -> schemas.Support:
    """The supportive message and the crisis resources for ``locale`` (fallback: worldwide)."""
    country, region = resources.for_locale(locale)
    return schemas.Support(
        message=resources.message,
        country=country,
        emergency_number=region.emergency_number,
        resources=[
            schemas.CrisisResource(
                name=r.name,
                description=r.description,
                phone=r.phone,
                text=r.text,
                url=str(r.url) if r.url else None,
            )
            for r in region.resources
        ],
        resources_version=resources.version,
    )
