"""Matching techniques to analysed writing (`services/suggestions.py`), on fixed examples:

- a sad, grieving entry gets grief- and sadness-appropriate techniques first, each with a
  reason that names those emotions and describes the writing, never the writer;
- a worried entry gets worry techniques; a proud, happy one gets techniques for savouring
  and sharing good moments, not ones for distress;
- with the real model server's embeddings, meaning moves a fitting technique up and the
  reason says it is close in meaning;
- a period aggregates its entries' emotions, and its reason speaks of the period;
- no reason ever names a clinical condition.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence

import pytest
from journal_api.clients import breaker, inference
from journal_api.knowledge import techniques
from journal_api.schemas import analysis as vocabulary
from journal_api.services import suggestions

from tests.support.inference import InferenceServer

GRIEF_TEXT = (
    "My grandmother died last week. I keep crying and the house feels so empty without her."
)
GRIEF = suggestions.Signals(
    scores={"grief": 0.71, "sadness": 0.83, "neutral": 0.05},
    labels=["sadness", "grief"],
    ekman="sadness",
    sentiment="negative",
    polarity=-0.82,
    embedding=None,
)
WORRY = suggestions.Signals(
    scores={"nervousness": 0.66, "fear": 0.58},
    labels=["nervousness", "fear"],
    ekman="fear",
    sentiment="negative",
    polarity=-0.6,
    embedding=None,
)
PRIDE = suggestions.Signals(
    scores={"pride": 0.72, "joy": 0.8, "excitement": 0.4},
    labels=["joy", "pride"],
    ekman="joy",
    sentiment="positive",
    polarity=0.9,
    embedding=None,
)
GRIEF_TECHNIQUES = {
    "grief-oscillation",
    "continuing-bonds",
    "expressive-writing",
    "behavioural-activation",
    "self-compassion-break",
    "radical-acceptance",
    "reach-out",
    "talk-it-through",
}
DISTRESS_ONLY = {"worry-postponement", "grounding-5-4-3-2-1", "pause-before-reacting"}
CLINICAL = re.compile(r"disorder|depress|diagnos|ptsd|anxiety|clinical|patient|symptom", re.I)


def top(signals: suggestions.Signals, limit: int = 5) -> list[suggestions.Match]:
    return suggestions.rank(signals, techniques.catalog(), None, limit=limit)


def test_grief_entry_gets_grief_and_sadness_techniques() -> None:
    matches = top(GRIEF)
    assert {m.technique.id for m in matches} <= GRIEF_TECHNIQUES
    assert {"grief-oscillation", "continuing-bonds"} & {m.technique.id for m in matches[:2]}


def test_reason_names_the_emotions_the_entry_reads_as() -> None:
    best = top(GRIEF)[0]
    assert best.reason.startswith("Suggested because this entry reads as ")
    assert "sadness" in best.reason
    assert "grief" in best.reason
    assert set(best.emotions) == {"sadness", "grief"}


def test_worried_entry_gets_worry_techniques() -> None:
    ids = [m.technique.id for m in top(WORRY)]
    assert {"worry-postponement", "worst-best-likely", "graded-approach"} & set(ids[:3])
    assert "grief-oscillation" not in ids


def test_proud_entry_gets_savouring_not_distress_techniques() -> None:
    ids = {m.technique.id for m in top(PRIDE)}
    assert {"savouring", "share-good-news", "three-good-things"} & ids
    assert not ids & DISTRESS_ONLY


def test_reasons_never_name_a_condition() -> None:
    for signals in (GRIEF, WORRY, PRIDE):
        for match in top(signals, limit=len(techniques.catalog().techniques)):
            assert not CLINICAL.search(match.reason), match.reason
            assert " you are " not in match.reason
            assert " you have " not in match.reason


def test_scores_from_a_stored_row_follow_the_emotions_order() -> None:
    row = [0.0] * len(vocabulary.EMOTIONS)
    row[vocabulary.EMOTIONS.index("grief")] = 0.9
    signals = suggestions.signals(
        scores=row, labels=["grief"], ekman="sadness", sentiment=None, polarity=-0.7,
        embedding=None,
    )  # fmt: skip
    assert signals.scores["grief"] == 0.9
    # Without a stored label the polarity decides the sentiment.
    assert "negative" in top(signals, 1)[0].technique.helps_with.sentiment


def test_period_aggregates_its_entries_and_says_so() -> None:
    period = suggestions.aggregate([GRIEF, GRIEF, WORRY], days=14)
    assert period.labels[:2] == ["sadness", "grief"]
    assert period.ekman == "sadness"
    assert period.scores["grief"] == pytest.approx(0.71 * 2 / 3)
    best = top(period)[0]
    assert best.reason.startswith(
        "Suggested because over the last 14 days your entries have mostly read as "
    )
    assert best.technique.id in GRIEF_TECHNIQUES


def test_empty_period_has_no_signals() -> None:
    period = suggestions.aggregate([], days=7)
    assert (period.labels, period.ekman, period.embedding) == ([], None, None)


@pytest.fixture(scope="module")
async def model_client(
    inference_server: InferenceServer,
) -> AsyncIterator[inference.InferenceClient]:
    client = inference.InferenceClient(
        inference_server.url,
        timeout=60,
        retries=1,
        retry_base_seconds=0.1,
        breaker=breaker.CircuitBreaker(failures=5, reset_seconds=1, max_reset_seconds=5),
    )
    yield client
    await client.aclose()


async def test_meaning_moves_the_fitting_technique_up(
    model_client: inference.InferenceClient,
) -> None:
    catalog = techniques.catalog()
    vectors = await suggestions.technique_vectors(
        catalog, embed=model_client.embed, model=model_client.base_url
    )
    [embedding] = await model_client.embed([GRIEF_TEXT])
    grief = suggestions.Signals(**{**GRIEF.__dict__, "embedding": embedding})
    matches = suggestions.rank(grief, catalog, vectors, limit=3)
    assert matches[0].technique.id in {"grief-oscillation", "continuing-bonds"}
    assert matches[0].similarity is not None
    assert matches[0].similarity > 0.4
    assert "close in meaning" in matches[0].reason


async def test_technique_vectors_are_embedded_once_per_version(
    model_client: inference.InferenceClient,
) -> None:
    calls: list[int] = []

    async def counting(texts: Sequence[str]) -> list[list[float]]:
        calls.append(len(texts))
        return await model_client.embed(texts)

    catalog = techniques.catalog()
    first = await suggestions.technique_vectors(catalog, embed=counting, model="count-test")
    again = await suggestions.technique_vectors(catalog, embed=counting, model="count-test")
    assert first is again
    assert sum(calls) == len(catalog.techniques)
    assert all(n <= 64 for n in calls)
