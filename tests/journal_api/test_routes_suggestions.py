"""`GET /api/v1/entries/{id}/suggestions` and `GET /api/v1/insights/suggestions`, with the
real worker, model server and PostgreSQL:

- an analysed entry gets techniques from the knowledge base, each with steps, evidence, a
  citation and a reason in words that names how the entry reads;
- an entry that reads as a crisis gets `kind: support` instead: the supportive message and
  the crisis lines of the locale (`locale=` or Accept-Language), worldwide without one;
  also when only the similarity screen (no phrase rule) sees it;
- a period's suggestions aggregate its analysed entries, and turn to support when any of
  them reads as a crisis;
- 409 while the entry is not analysed, 404 for someone else's entry;
- without a model server a rule-flagged entry still gets support, anything else 503 with
  Retry-After rather than suggestions from an incomplete screen.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module
from journal_api.knowledge import techniques
from journal_api.schemas import analysis as vocabulary
from sqlalchemy import text

from tests.journal_api.conftest import MakeUser, TestUser, analysis_worker, drain

ENTRIES = "/api/v1/entries"
PERIOD = "/api/v1/insights/suggestions"
GRIEF = (
    "My grandmother died last week. I keep crying and the house feels so empty without her. "
    "I miss her voice on the phone on Sunday mornings."
)
CRISIS = "Work was a blur again. Honestly, everyone would be better off without me."
# No phrase rule matches this one: only the similarity screen catches it.
QUIET_CRISIS = (
    "Cleaned the flat and did the shopping. Everything would be simpler if I just wasn't alive."
)
ORDINARY = "Long walk by the river after work, then soup and an early night."


async def write(client: httpx.AsyncClient, user: TestUser, content: str) -> str:
    response = await client.post(ENTRIES, json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def analysed(
    app: FastAPI, client: httpx.AsyncClient, settings: settings_module.Settings,
    user: TestUser, *contents: str,
) -> list[str]:  # fmt: skip
    ids = [await write(client, user, content) for content in contents]
    async with analysis_worker(settings, app) as worker:
        await drain(worker)
    return ids


async def suggestions_of(
    client: httpx.AsyncClient, user: TestUser, entry_id: str, **params: Any
) -> httpx.Response:
    headers = {**user.headers, **params.pop("headers", {})}
    return await client.get(f"{ENTRIES}/{entry_id}/suggestions", params=params, headers=headers)


async def test_analysed_entry_gets_techniques_with_reasons(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    [entry_id] = await analysed(analysis_app, analysis_client, analysis_settings, user, GRIEF)
    response = await suggestions_of(analysis_client, user, entry_id, limit=4)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["kind"], body["support"], body["entries"]) == ("suggestions", None, 1)
    assert body["knowledge_version"] == techniques.catalog().version
    assert len(body["suggestions"]) == 4
    ids = {t.id for t in techniques.catalog().techniques}
    analysis = (await analysis_client.get(f"{ENTRIES}/{entry_id}", headers=user.headers)).json()[
        "analysis"
    ]
    read_as = {*analysis["emotions"], analysis["ekman"], analysis["sentiment"]}
    for item in body["suggestions"]:
        assert item["technique_id"] in ids
        assert 3 <= len(item["steps"]) <= 6
        assert item["citation"]
        assert item["evidence"]["level"]
        assert item["reason"].startswith("Suggested because this entry reads as ")
        assert any(word in item["reason"] for word in read_as if word != "neutral")
        assert set(item["matched_emotions"]) <= set(vocabulary.EMOTIONS)
        assert item["similarity"] is not None
    scores = [item["score"] for item in body["suggestions"]]
    assert scores == sorted(scores, reverse=True)


async def test_crisis_entry_gets_support_for_the_locale_instead(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    [entry_id] = await analysed(analysis_app, analysis_client, analysis_settings, user, CRISIS)

    uk = (
        await suggestions_of(
            analysis_client, user, entry_id, headers={"Accept-Language": "en-GB,en;q=0.8"}
        )
    ).json()
    assert (uk["kind"], uk["suggestions"]) == ("support", [])
    assert uk["support"]["country"] == "GB"
    assert uk["support"]["resources"][0]["phone"] == "116 123"

    us = (await suggestions_of(analysis_client, user, entry_id, locale="en-US")).json()
    assert us["support"]["resources"][0]["phone"] == "988"

    anywhere = (await suggestions_of(analysis_client, user, entry_id)).json()
    assert anywhere["support"]["country"] is None
    assert anywhere["support"]["resources"][0]["url"] == "https://findahelpline.com/"


async def test_crisis_only_the_similarity_screen_sees_gets_support(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    ids = await analysed(analysis_app, analysis_client, analysis_settings, user, QUIET_CRISIS)
    body = (await suggestions_of(analysis_client, user, ids[0], locale="en-US")).json()
    assert body["kind"] == "support"
    assert body["support"]["country"] == "US"


async def test_period_suggestions_aggregate_and_turn_to_support(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    calm = await make_analysis_user()
    await analysed(analysis_app, analysis_client, analysis_settings, calm, GRIEF, ORDINARY)
    body = (await analysis_client.get(PERIOD, params={"days": 7}, headers=calm.headers)).json()
    assert (body["kind"], body["days"], body["entries"]) == ("suggestions", 7, 2)
    assert body["suggestions"][0]["reason"].startswith(
        "Suggested because over the last 7 days your entries have mostly read as "
    )

    worried = await make_analysis_user()
    await analysed(analysis_app, analysis_client, analysis_settings, worried, ORDINARY, CRISIS)
    body = (await analysis_client.get(PERIOD, headers=worried.headers)).json()
    assert (body["kind"], body["suggestions"], body["days"]) == ("support", [], 30)


async def test_empty_period_suggests_nothing(
    analysis_client: httpx.AsyncClient, make_analysis_user: MakeUser
) -> None:
    user = await make_analysis_user()
    body = (await analysis_client.get(PERIOD, headers=user.headers)).json()
    assert (body["kind"], body["suggestions"], body["entries"]) == ("suggestions", [], 0)


async def test_unanalysed_entry_is_409_and_anothers_entry_404(
    analysis_client: httpx.AsyncClient, make_analysis_user: MakeUser
) -> None:
    owner, other = await make_analysis_user(), await make_analysis_user()
    entry_id = await write(analysis_client, owner, ORDINARY)  # no worker ran: still pending
    response = await suggestions_of(analysis_client, owner, entry_id)
    assert response.status_code == 409
    assert "not been analysed" in response.json()["detail"]
    assert (await suggestions_of(analysis_client, other, entry_id)).status_code == 404
    assert (await suggestions_of(analysis_client, owner, str(uuid.uuid4()))).status_code == 404


async def mark_analysed(app: FastAPI, entry_id: str) -> None:
    """A finished analysis written directly (the app under test has no model server)."""
    scores = [0.0] * len(vocabulary.EMOTIONS)
    scores[vocabulary.EMOTIONS.index("sadness")] = 0.8
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE entry_analyses SET status = 'done', emotion_scores = :scores, "
                "emotion_labels = '{sadness}', ekman = 'sadness', sentiment = 'negative', "
                "polarity = -0.7, model_name = 'analyzer', model_version = 'test' "
                "WHERE entry_id = :id"
            ),
            {"scores": scores, "id": uuid.UUID(entry_id)},
        )
        await session.commit()


async def test_without_a_model_server_rules_still_lead_to_support(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    entry_id = await write(client, user, CRISIS)
    await mark_analysed(app, entry_id)
    body = (await suggestions_of(client, user, entry_id, locale="en-IE")).json()
    assert body["kind"] == "support"
    assert body["support"]["country"] == "IE"


async def test_without_a_model_server_other_entries_get_503(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    entry_id = await write(client, user, ORDINARY)
    await mark_analysed(app, entry_id)
    response = await suggestions_of(client, user, entry_id)
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert "screened for safety" in response.json()["detail"]
