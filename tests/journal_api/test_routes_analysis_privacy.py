"""What happens to the model's findings about a user's entries, with real analyses:

- the personal export carries every entry's analysis (status, emotions, sentiment,
  model version), exactly as the entry itself shows it, and no raw embedding vector;
- deleting an entry deletes its analysis and embedding;
- deleting the account deletes every analysis, embedding, queued job and stored theme.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module
from sqlalchemy import text

from tests.journal_api.conftest import MakeUser, TestUser, analysis_worker, drain

ENTRIES = "/api/v1/entries"
EXPORT = "/api/v1/users/me/export"


async def write(client: httpx.AsyncClient, user: TestUser, content: str) -> str:
    response = await client.post(ENTRIES, json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def left_behind(app: FastAPI, user_id: uuid.UUID) -> dict[str, Any]:
    async with app.state.sessionmaker() as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM entry_analyses WHERE user_id = :u) AS analyses, "
                    "(SELECT count(*) FROM entry_analyses WHERE user_id = :u "
                    " AND embedding IS NOT NULL) AS embeddings, "
                    "(SELECT count(*) FROM jobs WHERE user_id = :u) AS jobs, "
                    "(SELECT count(*) FROM theme_snapshots WHERE user_id = :u) AS themes, "
                    "(SELECT count(*) FROM entries WHERE user_id = :u) AS entries"
                ),
                {"u": user_id},
            )
        ).one()
    return dict(row._mapping)


async def test_the_export_carries_each_entrys_analysis_but_no_embedding(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    analysed = await write(analysis_client, user, "Finished the marathon, exhausted but proud.")
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    pending = await write(analysis_client, user, "Written after the worker ran.")

    response = await analysis_client.get(EXPORT, headers=user.headers)
    assert response.status_code == 200
    exported = {entry["id"]: entry for entry in response.json()["entries"]}
    shown = (await analysis_client.get(f"{ENTRIES}/{analysed}", headers=user.headers)).json()
    assert exported[analysed] == shown
    assert exported[analysed]["analysis"]["status"] == "done"
    assert len(exported[analysed]["analysis"]["emotion_scores"]) == 28
    assert exported[analysed]["analysis"]["model_version"]
    assert exported[pending]["analysis"] is None
    assert "embedding" not in response.text


async def test_deleting_an_entry_or_the_account_deletes_analyses_embeddings_and_jobs(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user, other = await make_analysis_user(), await make_analysis_user()
    doomed = await write(analysis_client, user, "An entry I will delete.")
    for content in ("Morning run by the canal.", "Dinner with old friends."):
        await write(analysis_client, user, content)
    await write(analysis_client, other, "Someone else's evening.")
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    await write(analysis_client, user, "Still queued when the account goes.")
    response = await analysis_client.get("/api/v1/insights/themes?entries=10", headers=user.headers)
    assert response.status_code == 200
    response = await analysis_client.get("/api/v1/insights/themes", headers=user.headers)
    assert response.status_code == 200
    assert await left_behind(analysis_app, user.id) == {
        "analyses": 4,
        "embeddings": 3,
        "jobs": 2,  # the new entry's analysis, and the themes refresh after the others'
        "themes": 1,
        "entries": 4,
    }

    response = await analysis_client.delete(f"{ENTRIES}/{doomed}", headers=user.headers)
    assert response.status_code == 204
    assert (await left_behind(analysis_app, user.id))["analyses"] == 3
    response = await analysis_client.get("/api/v1/insights/themes", headers=user.headers)
    assert response.status_code == 200

    response = await analysis_client.request(
        "DELETE",
        "/api/v1/users/me",
        headers=user.headers,
        json={"current_password": user.password},
    )
    assert response.status_code == 204
    assert await left_behind(analysis_app, user.id) == {
        "analyses": 0,
        "embeddings": 0,
        "jobs": 0,
        "themes": 0,
        "entries": 0,
    }
    assert (await left_behind(analysis_app, other.id))["embeddings"] == 1
