"""Suggest reflection and coping techniques for an analysed entry, or for a period of them.

`rank` is pure: it scores every technique of the knowledge base against an entry's (or a
period's) `Signals` by how well its "helps with" overlaps the emotions the writing reads as,
plus the cosine similarity of the entry's embedding and the technique's, and says why in
words. `aggregate` turns a period's analyses into one `Signals`. `technique_vectors` embeds
the knowledge base once per process and version. The routes (`routes/suggestions.py`) run
the crisis screen first (`services/safety.py`): a flagged entry gets support, never these.

Wording: a reason describes how the writing reads ("reads as sadness"), never the person,
and never names a condition.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence

from journal_api.knowledge import techniques as kb
from journal_api.knowledge import vectors
from journal_api.schemas import analysis as vocabulary
from journal_api.schemas import suggestions as schemas

NEUTRAL = "neutral"
# An emotion among the entry's labels (above its tuned threshold) counts at least this much.
LABEL_FLOOR = 0.6
# Weights of the parts of a match; they sum to 1 so a score stays in [0, 1].
W_EMOTIONS, W_EKMAN, W_SENTIMENT, W_MEANING = 0.45, 0.15, 0.10, 0.30
# MiniLM cosines of a journal entry and a technique text fall roughly in [0.1, 0.6]:
# stretched to [0, 1] so meaning weighs as much as the labels do.
COSINE_FLOOR, COSINE_SPAN = 0.1, 0.5
# From here on the similarity is worth saying in the reason.
CLOSE_IN_MEANING = 0.45
# A period label counts when at least this share of the period's entries carries it.
PERIOD_LABEL_SHARE = 0.25

_cache = vectors.VectorCache()


@dataclasses.dataclass(frozen=True)
class Signals:
    """What the analysis says about an entry, or a period's entries together."""

    scores: Mapping[str, float]  # GoEmotions label -> probability
    labels: Sequence[str]  # above their thresholds, strongest first
    ekman: str | None
    sentiment: str | None
    polarity: float | None
    embedding: Sequence[float] | None
    days: int | None = None  # set for a period


@dataclasses.dataclass(frozen=True)
class Match:
    technique: kb.Technique
    score: float
    emotions: tuple[str, ...]  # the entry's emotions the technique helps with, strongest first
    similarity: float | None
    reason: str


def signals(
    *,
    scores: Sequence[float] | None,
    labels: Sequence[str] | None,
    ekman: str | None,
    sentiment: str | None,
    polarity: float | None,
    embedding: Sequence[float] | None,
) -> Signals:
    """`Signals` from a stored analysis (scores in `vocabulary.EMOTIONS` order)."""
    return Signals(
        scores=dict(zip(vocabulary.EMOTIONS, scores or (), strict=False)),
        labels=list(labels or ()),
        ekman=ekman,
        sentiment=sentiment,
        polarity=polarity,
        embedding=embedding,
    )


def aggregate(entries: Sequence[Signals], *, days: int) -> Signals:
    """One `Signals` for a period: each emotion's mean weight over the entries (a label
    counts at least `LABEL_FLOOR` in its entry), the labels at least a quarter of the
    entries carry (most frequent first), the commonest Ekman emotion and sentiment, the mean
    polarity, and the mean direction of the embeddings there are."""
    n = len(entries)
    if not n:
        return Signals({}, [], None, None, None, None, days=days)
    scores = {e: math.fsum(_weight(s, e) for s in entries) / n for e in vocabulary.EMOTIONS}
    counts = collections.Counter(label for s in entries for label in dict.fromkeys(s.labels))
    labels = [label for label, c in counts.most_common() if c / n >= PERIOD_LABEL_SHARE]
    polarities = [s.polarity for s in entries if s.polarity is not None]
    embeddings = [s.embedding for s in entries if s.embedding]
    return Signals(
        scores=scores,
        labels=labels,
        ekman=_commonest(s.ekman for s in entries),
        sentiment=_commonest(s.sentiment for s in entries),
        polarity=math.fsum(polarities) / len(polarities) if polarities else None,
        embedding=vectors.centroid(embeddings) if embeddings else None,
        days=days,
    )


def _commonest(values: Iterable[str | None]) -> str | None:
    counts = collections.Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def rank(
    entry: Signals,
    catalog: kb.Catalog,
    technique_vectors: Sequence[vectors.Vector] | None,
    *,
    limit: int = 3,
) -> list[Match]:
    """The ``limit`` techniques that fit ``entry`` best, best first (ties by knowledge-base order).

    Args:
        entry: the entry's or period's signals.
        catalog: the knowledge base.
        technique_vectors: one vector per technique, in catalog order; None to match on
            labels alone (the weights of the other parts are then rescaled).
        limit: how many to return.
    """
    matches = [
        _match(entry, technique, technique_vectors[i] if technique_vectors else None)
        for i, technique in enumerate(catalog.techniques)
    ]
    order = sorted(range(len(matches)), key=lambda i: (-matches[i].score, i))
    return [matches[i] for i in order[:limit]]


def _weight(entry: Signals, emotion: str) -> float:
    score = entry.scores.get(emotion, 0.0)
    # A period's scores are already means of floored entry weights.
    floored = emotion in entry.labels and entry.days is None
    return max(score, LABEL_FLOOR) if floored else score


def _emotion_fit(entry: Signals, technique: kb.Technique) -> float:
    """Cosine of the entry's emotion weights and the technique's emotions, the k-th listed
    weighing 1/sqrt(k): a technique aimed at exactly these feelings beats a broad one."""
    aims = {e: 1 / math.sqrt(k) for k, e in enumerate(technique.helps_with.emotions, 1)}
    feelings = {e: _weight(entry, e) for e in vocabulary.EMOTIONS if e != NEUTRAL}
    norm = math.sqrt(math.fsum(w * w for w in feelings.values()))
    if not norm:
        return 0.0
    aim_norm = math.sqrt(math.fsum(w * w for w in aims.values()))
    return math.fsum(feelings.get(e, 0.0) * w for e, w in aims.items()) / (norm * aim_norm)


def _match(entry: Signals, technique: kb.Technique, vector: vectors.Vector | None) -> Match:
    helps = technique.helps_with
    weights = sorted(((_weight(entry, e), e) for e in helps.emotions), reverse=True)
    emotion_part = _emotion_fit(entry, technique)
    ekman_part = float(entry.ekman in helps.ekman) if entry.ekman else 0.0
    sentiment_part = float(_sentiment(entry) in helps.sentiment)
    similarity = (
        vectors.dot(entry.embedding, vector) if entry.embedding and vector is not None else None
    )
    parts = W_EMOTIONS * emotion_part + W_EKMAN * ekman_part + W_SENTIMENT * sentiment_part
    if similarity is None:
        score = parts / (1 - W_MEANING)
    else:
        meaning = min(1.0, max(0.0, (similarity - COSINE_FLOOR) / COSINE_SPAN))
        score = parts + W_MEANING * meaning
    named = tuple(e for w, e in weights if e != NEUTRAL and w >= LABEL_FLOOR / 2)
    return Match(
        technique=technique,
        score=round(score, 4),
        emotions=named,
        similarity=None if similarity is None else round(similarity, 4),
        reason=reason(entry, technique, emotions=named, similarity=similarity),
    )


def _sentiment(entry: Signals) -> str | None:
    if entry.sentiment or entry.polarity is None:
        return entry.sentiment
    # No label stored: read it off the polarity, with a dead zone for "neutral".
    return (
        "positive" if entry.polarity >= 0.2 else "negative" if entry.polarity <= -0.2 else NEUTRAL
    )


def _words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def reason(
    entry: Signals, technique: kb.Technique, *, emotions: Sequence[str], similarity: float | None
) -> str:
    """Why ``technique`` was matched, in one sentence that describes the writing, not the
    writer: "Suggested because this entry reads as sadness and grief, and is close in
    meaning to what this technique is for: loss and missing someone."."""
    subject = (
        f"over the last {entry.days} days your entries have mostly read as"
        if entry.days is not None
        else "this entry reads as"
    )
    if emotions:
        feeling = _words(list(emotions[:3]))
    elif entry.ekman and entry.ekman != NEUTRAL:
        feeling = entry.ekman
    else:
        feeling = f"{_sentiment(entry) or 'neutral'} in tone"
    text = f"Suggested because {subject} {feeling}"
    if similarity is not None and similarity >= CLOSE_IN_MEANING:
        situations = _words(list(technique.helps_with.situations[:2]))
        text += f", and is close in meaning to what this technique is for: {situations}"
    return text + "."


def suggestion(match: Match) -> schemas.Suggestion:
    """The public form of a match."""
    technique = match.technique
    return schemas.Suggestion(
        technique_id=technique.id,
        title=technique.title,
        description=technique.description,
        steps=list(technique.steps),
        evidence=schemas.Evidence(
            level=technique.evidence.level, justification=technique.evidence.justification
        ),
        citation=technique.citation.text(),
        reason=match.reason,
        score=match.score,
        matched_emotions=list(match.emotions),
        similarity=match.similarity,
    )


async def technique_vectors(
    catalog: kb.Catalog, *, embed: vectors.Embed, model: str
) -> list[list[float]]:
    """The embedding of every technique (title, description, when it helps), computed once
    per process for each knowledge-base version and embedding model."""
    return await _cache.get(
        name="techniques",
        version=catalog.version,
        model=model,
        texts=catalog.embedding_texts(),
        embed=embed,
    )
