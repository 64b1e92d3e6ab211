"""The worker's crisis hook, with the real worker, model server and PostgreSQL:

- an entry that reads as a crisis is stored with `crisis_flagged` and its screening, and
  one `safety_flagged` audit event whose details hold ids and numbers, never the text;
  an ordinary entry is stored unflagged and records nothing; an edit clears the verdict;
- the suggestion routes answer from the stored verdict (a verdict that says crisis wins
  over a text the live screen would pass).
"""

from __future__ import annotations

import json
import uuid

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module
from journal_api.knowledge import crisis
from sqlalchemy import text

from tests.journal_api import histories
from tests.journal_api.conftest import MakeUser, TestUser

ENTRIES = "/api/v1/entries"
CRISIS = "Work was a blur again. Honestly, everyone would be better off without me."
ORDINARY = "Long walk by the river after work, then soup and an early night."


async def write(client: httpx.AsyncClient, user: TestUser, content: str) -> str:
    response = await client.post(ENTRIES, json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def verdict(app: FastAPI, entry_id: str) -> tuple[bool | None, dict[str, object] | None]:
    async with app.state.sessionmaker() as session:
        row = (
            await session.execute(
                text(
                    "SELECT crisis_flagged, crisis_screening FROM entry_analyses "
                    "WHERE entry_id = :id"
                ),
                {"id": uuid.UUID(entry_id)},
            )
        ).one()
    return row.crisis_flagged, row.crisis_screening


async def events(app: FastAPI, user: TestUser) -> list[tuple[str, str]]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT event_type, details::text FROM audit_events "
                "WHERE user_id = :user_id AND event_type = 'safety_flagged' ORDER BY id"
            ),
            {"user_id": user.id},
        )
        return [(row.event_type, row.details) for row in rows]


async def test_flagged_entry_stores_its_verdict_and_an_audit_event_without_the_text(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    flagged_id = await write(analysis_client, user, CRISIS)
    ordinary_id = await write(analysis_client, user, ORDINARY)
    await histories.analyse_all(analysis_settings, analysis_app)

    flagged, screening = await verdict(analysis_app, flagged_id)
    assert flagged is True
    assert screening is not None
    assert screening["entry_id"] == flagged_id
    assert screening["language_version"] == crisis.language().version
    assert "rules" in screening["detectors"]  # type: ignore[operator]
    assert (await verdict(analysis_app, ordinary_id))[0] is False

    [(event_type, details)] = await events(analysis_app, user)
    assert event_type == "safety_flagged"
    assert json.loads(details)["entry_id"] == flagged_id
    for fragment in ("better off", "without me", "blur", "Work was"):
        assert fragment.lower() not in details.lower()

    response = await analysis_client.patch(
        f"{ENTRIES}/{flagged_id}", json={"content": ORDINARY}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    assert await verdict(analysis_app, flagged_id) == (None, None)


async def test_suggestions_answer_from_the_stored_verdict(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    entry_id = await write(analysis_client, user, ORDINARY)
    await histories.analyse_all(analysis_settings, analysis_app)
    response = await analysis_client.get(f"{ENTRIES}/{entry_id}/suggestions", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "suggestions"
    # The stored verdict is what counts: set it to "crisis" and the same text gets support.
    async with analysis_app.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE entry_analyses SET crisis_flagged = true WHERE entry_id = :id"),
            {"id": uuid.UUID(entry_id)},
        )
        await session.commit()
    for path in (f"{ENTRIES}/{entry_id}/suggestions?limit=2", "/api/v1/insights/suggestions"):
        response = await analysis_client.get(path, headers=user.headers)
        assert response.status_code == 200, response.text
        assert response.json()["kind"] == "support", path
