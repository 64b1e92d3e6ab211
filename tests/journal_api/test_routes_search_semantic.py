"""Semantic and hybrid search and similar entries, on analyses made by the real worker
code and model server:

- a query sharing no word with an entry finds it by meaning (full-text finds nothing);
- one user never sees another's entries, even when those are the nearest vectors, and
  the owner does find them;
- hybrid ranks by reciprocal rank fusion (k = 60) of the full-text and semantic lists,
  and every hit says which lists found it;
- `/entries/{id}/similar` ranks the user's other entries by meaning, never the entry
  itself nor anyone else's; 404 for someone else's entry, 409 before analysis;
- the list filters by analysed `emotion` and `sentiment`.
"""

from __future__ import annotations

import typing
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from journal_api import settings as settings_module
from journal_api.schemas import analysis as analysis_schema

from tests.journal_api.conftest import MakeUser, TestUser, analysis_worker, drain

ENTRIES = "/api/v1/entries"
SEARCH = "/api/v1/search"
GRIEF = "My dog passed away this morning and I cannot stop crying"
PET_QUERY = "grief over losing a pet"
CAT = "Our old cat died last night; the house feels empty and I keep crying."
UNRELATED = [
    "Bought apples, bread and cheese at the market before noon.",
    "The quarterly budget meeting ran over by an hour again.",
    "Fixed the bicycle chain and oiled the gears in the garage.",
]
RRF_K = 60


async def write(client: httpx.AsyncClient, user: TestUser, content: str) -> str:
    response = await client.post(ENTRIES, json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def analyse_all(settings: settings_module.Settings, app: FastAPI) -> None:
    async with analysis_worker(settings, app) as worker:
        await drain(worker)


async def search(
    client: httpx.AsyncClient, user: TestUser, q: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(SEARCH, params={"q": q, **params}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["entry"]["id"] for item in body["items"]]


async def test_a_query_sharing_no_word_with_an_entry_finds_it_by_meaning(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    grief = await write(analysis_client, user, GRIEF)
    for content in UNRELATED:
        await write(analysis_client, user, content)
    await analyse_all(analysis_settings, analysis_app)

    assert (await search(analysis_client, user, PET_QUERY))["items"] == []  # no shared word
    body = await search(analysis_client, user, PET_QUERY, mode="semantic", limit=10)
    assert (body["mode"], body["degraded"]) == ("semantic", False)
    assert ids(body)[0] == grief
    assert len(body["items"]) == 1 + len(UNRELATED)
    first = body["items"][0]
    assert first["matched_by"] == ["semantic"]
    assert first["highlight"] == GRIEF
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert -1 <= scores[-1] < scores[0] <= 1


async def test_semantic_search_never_returns_another_users_entries_even_the_nearest(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    owner, other = await make_analysis_user(), await make_analysis_user()
    grief = await write(analysis_client, owner, GRIEF)
    cat = await write(analysis_client, owner, CAT)
    theirs = {await write(analysis_client, other, content) for content in UNRELATED}
    await analyse_all(analysis_settings, analysis_app)

    seen = await search(analysis_client, other, PET_QUERY, mode="semantic", limit=10)
    assert set(ids(seen)) == theirs  # all of theirs, however far; none of the owner's
    fused = await search(analysis_client, other, PET_QUERY, mode="hybrid", limit=10)
    assert set(ids(fused)) == theirs
    found = await search(analysis_client, owner, PET_QUERY, mode="semantic", limit=2)
    assert set(ids(found)) == {grief, cat}


async def test_hybrid_fuses_the_two_rankings_by_reciprocal_rank_and_names_their_sources(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    both = await write(analysis_client, user, "The dog died and I am crying with grief.")
    words_only = await write(
        analysis_client, user, "Grief: a play where the dog died in act one. Bought bread after."
    )
    meaning_only = await write(analysis_client, user, CAT)
    for content in UNRELATED:
        await write(analysis_client, user, content)
    await analyse_all(analysis_settings, analysis_app)
    query, limit = "grief dog died", 4

    fulltext = await search(analysis_client, user, query, mode="fulltext", limit=2 * limit)
    semantic = await search(analysis_client, user, query, mode="semantic", limit=2 * limit)
    hybrid = await search(analysis_client, user, query, mode="hybrid", limit=limit)

    assert set(ids(fulltext)) == {both, words_only}
    expected = fuse({"fulltext": ids(fulltext), "semantic": ids(semantic)})[:limit]
    assert [(item["entry"]["id"], item["matched_by"]) for item in hybrid["items"]] == [
        (entry_id, sources) for entry_id, _, sources in expected
    ]
    for item, (_, score, _) in zip(hybrid["items"], expected, strict=True):
        assert item["score"] == pytest.approx(score)
    # Found by both lists beats found by one, however high that one ranked it.
    assert set(ids(hybrid)[:2]) == {both, words_only}
    assert meaning_only in ids(hybrid)
    assert hybrid["items"][ids(hybrid).index(meaning_only)]["matched_by"] == ["semantic"]
    assert hybrid["degraded"] is False


def fuse(lists: dict[str, list[str]]) -> list[tuple[str, float, list[str]]]:
    """Reciprocal rank fusion, written out independently of the service's."""
    scores: dict[str, float] = {}
    sources: dict[str, list[str]] = {}
    best: dict[str, int] = {}
    for name, ranked in lists.items():
        for rank, entry_id in enumerate(ranked, start=1):
            scores[entry_id] = scores.get(entry_id, 0.0) + 1 / (RRF_K + rank)
            sources.setdefault(entry_id, []).append(name)
            best[entry_id] = min(best.get(entry_id, rank), rank)
    order = sorted(scores, key=lambda e: (-scores[e], best[e], e))
    return [(entry_id, scores[entry_id], sources[entry_id]) for entry_id in order]


async def test_similar_entries_are_the_users_other_entries_by_meaning(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user, other = await make_analysis_user(), await make_analysis_user()
    grief = await write(analysis_client, user, GRIEF)
    cat = await write(analysis_client, user, CAT)
    for content in UNRELATED:
        await write(analysis_client, user, content)
    await write(analysis_client, other, "My puppy died today and I cannot stop crying.")
    await analyse_all(analysis_settings, analysis_app)

    response = await analysis_client.get(
        f"{ENTRIES}/{grief}/similar", params={"limit": 3}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 3
    assert items[0]["entry"]["id"] == cat
    assert grief not in [item["entry"]["id"] for item in items]
    similarities = [item["similarity"] for item in items]
    assert similarities == sorted(similarities, reverse=True)
    assert items[0]["entry"]["analysis"]["status"] == "done"

    everything = await analysis_client.get(
        f"{ENTRIES}/{grief}/similar", params={"limit": 50}, headers=user.headers
    )
    assert len(everything.json()["items"]) == 1 + len(UNRELATED)  # only the user's others

    foreign = await analysis_client.get(f"{ENTRIES}/{grief}/similar", headers=other.headers)
    assert foreign.status_code == 404
    missing = await analysis_client.get(f"{ENTRIES}/{uuid.uuid4()}/similar", headers=user.headers)
    assert missing.status_code == 404
    pending = await write(analysis_client, user, "Written just now, not analysed yet.")
    early = await analysis_client.get(f"{ENTRIES}/{pending}/similar", headers=user.headers)
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")


async def test_the_list_filters_by_analysed_emotion_and_sentiment(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    for content in [GRIEF, CAT, "What a wonderful, joyful day with friends!", *UNRELATED]:
        await write(analysis_client, user, content)
    await analyse_all(analysis_settings, analysis_app)
    await write(analysis_client, user, "Pending: not analysed, so never in a filtered list.")
    entries = (
        await analysis_client.get(ENTRIES, params={"limit": 100}, headers=user.headers)
    ).json()["items"]
    analysed = [entry for entry in entries if entry["analysis"] is not None]
    assert len(analysed) == len(entries) - 1

    labels = {label for e in analysed for label in e["analysis"]["emotions"]}
    cases: list[tuple[dict[str, str], set[str]]] = [
        ({"sentiment": sentiment}, {e["id"] for e in analysed
                                    if e["analysis"]["sentiment"] == sentiment})
        for sentiment in typing.get_args(analysis_schema.Sentiment)
    ] + [
        ({"emotion": emotion}, {e["id"] for e in analysed if e["analysis"]["ekman"] == emotion
                                or emotion in e["analysis"]["emotions"]})
        for emotion in sorted(set(typing.get_args(analysis_schema.Ekman)) | labels)
    ]  # fmt: skip
    # Every value is asked for, so a filter that ignores its value cannot pass.
    assert any(0 < len(wanted) < len(analysed) for _, wanted in cases)
    for params, wanted in cases:
        response = await analysis_client.get(
            ENTRIES, params={**params, "limit": 100}, headers=user.headers
        )
        assert response.status_code == 200
        assert {item["id"] for item in response.json()["items"]} == wanted, params
    both = {"sentiment": analysed[0]["analysis"]["sentiment"],
            "emotion": analysed[0]["analysis"]["ekman"]}  # fmt: skip
    response = await analysis_client.get(ENTRIES, params=both, headers=user.headers)
    assert analysed[0]["id"] in {item["id"] for item in response.json()["items"]}

    for params in ({"emotion": "ennui"}, {"sentiment": "meh"}):
        response = await analysis_client.get(ENTRIES, params=params, headers=user.headers)
        assert response.status_code == 422
        assert set(params) <= {error["field"] for error in response.json()["errors"]}
