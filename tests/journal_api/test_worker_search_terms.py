"""The outbox end to end for the search vocabulary: editing or deleting an entry queues a
`search_terms.refresh` job in the same transaction (one live job per user, however many
writes), and the worker then drops the words no remaining entry of that user contains,
while keeping every word still in use (and other users' words); a delete while a prune
runs is not lost to the dedupe."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from journal_api import metrics, working
from journal_api import settings as settings_module
from journal_api.models import job as job_model
from journal_api.repositories import jobs as jobs_repo
from journal_api.repositories import search as search_repo
from sqlalchemy import text

from tests.journal_api.conftest import MakeUser, TestUser

ENTRIES = "/api/v1/entries"


@pytest.fixture
def worker(
    app: FastAPI, client: httpx.AsyncClient, api_settings: settings_module.Settings
) -> working.Worker:
    # `client` starts the app's lifespan, which creates `app.state.sessionmaker`.
    return working.Worker(
        api_settings, sessionmaker=app.state.sessionmaker, metrics=metrics.WorkerMetrics()
    )


async def drain(worker: working.Worker) -> None:
    while await worker.run_once():
        pass


async def vocabulary(app: FastAPI, user: TestUser) -> set[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT word FROM search_terms WHERE user_id = :u"), {"u": user.id}
        )
        return {row.word for row in rows}


async def queued_refreshes(app: FastAPI, user: TestUser) -> int:
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM jobs WHERE user_id = :u AND kind = 'search_terms.refresh'"),
            {"u": user.id},
        )
        return int(count or 0)


async def write(client: httpx.AsyncClient, user: TestUser, content: str) -> uuid.UUID:
    response = await client.post(ENTRIES, json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def corrections(client: httpx.AsyncClient, user: TestUser, typo: str) -> list[str]:
    response = await client.get("/api/v1/search", params={"q": typo}, headers=user.headers)
    assert response.status_code == 200
    return [item["entry"]["id"] for item in response.json()["items"]]


async def test_deleting_an_entry_prunes_only_the_words_no_entry_uses(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, worker: working.Worker
) -> None:
    user, neighbour = await make_user(), await make_user()
    kept = await write(client, user, "Practised the marimba before breakfast.")
    doomed = await write(client, user, "Practised the xylophone before dinner.")
    await write(client, neighbour, "My xylophone is out of tune.")

    response = await client.delete(f"{ENTRIES}/{doomed}", headers=user.headers)
    assert response.status_code == 204
    assert await queued_refreshes(app, user) == 1
    await drain(worker)

    words = await vocabulary(app, user)
    assert "xylophone" not in words
    assert {"marimba", "practised", "before"} <= words
    assert await queued_refreshes(app, user) == 0
    # Typo tolerance still works for the words in use, and the neighbour keeps theirs.
    assert await corrections(client, user, "marimbaa") == [str(kept)]
    assert "xylophone" in await vocabulary(app, neighbour)


async def test_editing_an_entry_prunes_the_words_it_no_longer_has(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, worker: working.Worker
) -> None:
    user = await make_user()
    entry = await write(client, user, "A quiet evening with the harpsichord.")
    response = await client.patch(
        f"{ENTRIES}/{entry}",
        json={"content": "A quiet evening with the clavichord."},
        headers=user.headers,
    )
    assert response.status_code == 200
    await drain(worker)

    words = await vocabulary(app, user)
    assert "harpsichord" not in words
    assert {"clavichord", "quiet", "evening"} <= words
    assert await corrections(client, user, "harpsicord") == []
    assert await corrections(client, user, "clavicord") == [str(entry)]


async def test_a_rolled_back_delete_queues_nothing(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user, stranger = await make_user(), await make_user()
    entry = await write(client, user, "Mine alone.")
    # Another user's entry is a 404: nothing is deleted, so no job may exist either.
    response = await client.delete(f"{ENTRIES}/{entry}", headers=stranger.headers)
    assert response.status_code == 404
    assert await queued_refreshes(app, user) == 0
    assert await queued_refreshes(app, stranger) == 0


async def test_a_burst_of_edits_and_deletes_queues_one_refresh_per_user(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, worker: working.Worker
) -> None:
    user, other = await make_user(), await make_user()
    entries = [await write(client, user, f"Rehearsal number {n} with the oboe.") for n in range(4)]
    theirs = await write(client, other, "The bassoon needs a reed.")
    for n in range(5):
        response = await client.patch(
            f"{ENTRIES}/{entries[0]}", json={"content": f"Edit {n}: cello."}, headers=user.headers
        )
        assert response.status_code == 200
    for entry in entries[1:]:
        assert (await client.delete(f"{ENTRIES}/{entry}", headers=user.headers)).status_code == 204
    assert (await client.delete(f"{ENTRIES}/{theirs}", headers=other.headers)).status_code == 204
    assert await queued_refreshes(app, user) == 1
    assert await queued_refreshes(app, other) == 1
    await drain(worker)
    assert "oboe" not in await vocabulary(app, user)
    assert await queued_refreshes(app, user) == 0


async def test_a_delete_during_a_running_prune_queues_another(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, worker: working.Worker
) -> None:
    """The prune's snapshot may predate the delete; the delete must then queue a refresh
    of its own rather than be swallowed by the running job's dedupe key."""
    user = await make_user()
    await write(client, user, "The tuba stays.")
    doomed = await write(client, user, "The sousaphone goes.")
    edited = await write(client, user, "Scales on the tuba.")
    await client.patch(
        f"{ENTRIES}/{edited}", json={"content": "Scales again."}, headers=user.headers
    )
    key = job_model.refresh_search_terms_key(user.id)
    async with app.state.sessionmaker() as prune:
        # What a worker does with the queued refresh: claim it, prune, keep it running.
        job_id = await prune.scalar(
            text(
                "UPDATE jobs SET status = 'running', locked_by = 'test', "
                "locked_until = now() + interval '1 minute' WHERE dedupe_key = :key RETURNING id"
            ),
            {"key": key},
        )
        await prune.commit()
        await search_repo.prune_words(prune, user_id=user.id)
        delete = asyncio.create_task(client.delete(f"{ENTRIES}/{doomed}", headers=user.headers))
        await asyncio.sleep(0.5)
        # The delete waits for the vocabulary lock the prune holds.
        assert not delete.done()
        await jobs_repo.complete(prune, job_id=job_id, worker="test")
        await prune.commit()
    assert (await delete).status_code == 204
    assert await queued_refreshes(app, user) == 1
    await drain(worker)
    words = await vocabulary(app, user)
    assert "sousaphone" not in words
    assert "tuba" in words
