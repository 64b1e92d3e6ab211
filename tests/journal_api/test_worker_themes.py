"""Themes computed by the worker and served from the stored snapshot, on entries analysed
by the real worker and model server:

- stored analyses queue one `themes.refresh` per user; the worker's refresh stores the
  themes, and `GET /insights/themes` serves them (computed before the request) without
  clustering again; a refresh with nothing changed stores nothing;
- a refresh landing after a read was cached makes the next read show it (the worker bumps
  the user's cache generation);
- deleting an entry, or editing its text, removes the snapshot in the same transaction:
  the next read never shows the entry's old excerpt, and the refresh the deletion queued
  stores themes without it;
- a read that clusters live while the user deletes an entry does not store its result
  over the deletion;
- an analysis that lands while a refresh is finishing (so its own refresh request found one
  running) either is seen by that refresh or queues the next one: never neither.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from journal_api import settings as settings_module
from journal_api.repositories import jobs as jobs_repo
from journal_api.repositories import theme_snapshots
from journal_api.services import jobs as jobs_service
from journal_api.services import themes as themes_service
from sqlalchemy import text

from tests.journal_api import histories
from tests.journal_api.conftest import MakeUser, TestUser
from tests.journal_api.test_routes_insights_themes import BAKING, CYCLING, THEMES


def immediate(settings: settings_module.Settings) -> settings_module.Settings:
    return settings.model_copy(update={"themes_refresh_delay_seconds": 0.0})


async def write(client: httpx.AsyncClient, user: TestUser, texts: tuple[str, ...]) -> list[str]:
    ids = []
    for content in texts:
        response = await client.post(
            "/api/v1/entries", json={"content": content}, headers=user.headers
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def user_with_two_subjects(
    settings: settings_module.Settings,
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
) -> tuple[TestUser, list[str]]:
    """A new user with the baking and cycling entries, all analysed with ``settings``: the
    default delays the themes refresh the analyses queue, `immediate` runs it too."""
    user = await make_user()
    ids = await write(client, user, BAKING + CYCLING)
    await histories.analyse_all(settings, app)
    return user, ids


async def refresh_jobs(app: FastAPI, user: TestUser) -> list[dt.datetime]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT run_after FROM jobs WHERE kind = 'themes.refresh' AND user_id = :u"),
            {"u": user.id},
        )
        return [row.run_after for row in rows]


async def snapshot(app: FastAPI, user: TestUser) -> theme_snapshots.Snapshot | None:
    async with app.state.sessionmaker() as session:
        return await theme_snapshots.get(session, user_id=user.id)


async def make_due(app: FastAPI, user: TestUser) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE jobs SET run_after = now() WHERE kind = 'themes.refresh' AND user_id = :u"
            ),
            {"u": user.id},
        )
        await session.commit()


def representatives(body: dict[str, object]) -> set[str]:
    themes = body["themes"]
    assert isinstance(themes, list)
    return {r["id"] for theme in themes for r in theme["representatives"]}


async def test_worker_stores_themes_that_reads_serve(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    # With the default delay the refresh waits, one job for the whole burst.
    user, _ = await user_with_two_subjects(
        analysis_settings, analysis_app, analysis_client, make_analysis_user
    )
    [due] = await refresh_jobs(analysis_app, user)
    assert due > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)
    assert await snapshot(analysis_app, user) is None

    await make_due(analysis_app, user)
    await histories.analyse_all(immediate(analysis_settings), analysis_app)
    assert await refresh_jobs(analysis_app, user) == []
    stored = await snapshot(analysis_app, user)
    assert stored is not None
    assert stored.max_entries == themes_service.DEFAULT_ENTRIES

    before_read = dt.datetime.now(dt.UTC)
    response = await analysis_client.get(THEMES, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["k"], body["entries"]) == ("ok", 2, 16), body
    # Served as the worker stored it, not clustered for this request.
    assert response.content == stored.body
    assert dt.datetime.fromisoformat(body["computed_at"]) < before_read

    # Nothing changed: a refresh keeps the snapshot.
    async with analysis_app.state.sessionmaker() as session:
        assert await themes_service.refresh(session, user_id=user.id) is False


async def test_a_refresh_replaces_a_cached_read(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user, _ = await user_with_two_subjects(
        immediate(analysis_settings), analysis_app, analysis_client, make_analysis_user
    )
    await write(analysis_client, user, (BAKING[0] + " Again, with rye.",))
    await histories.analyse_all(analysis_settings, analysis_app)  # its themes refresh waits

    cached = await analysis_client.get(THEMES, headers=user.headers)
    assert cached.json()["entries"] == 16  # the snapshot before the new entry
    assert (await analysis_client.get(THEMES, headers=user.headers)).content == cached.content

    await make_due(analysis_app, user)
    await histories.analyse_all(analysis_settings, analysis_app)
    fresh = await analysis_client.get(THEMES, headers=user.headers)
    assert fresh.json()["entries"] == 17


async def test_deleted_or_edited_entries_leave_the_themes_at_once(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    settings = immediate(analysis_settings)
    user, _ = await user_with_two_subjects(
        settings, analysis_app, analysis_client, make_analysis_user
    )
    shown = representatives((await analysis_client.get(THEMES, headers=user.headers)).json())
    deleted, edited = sorted(shown)[:2]

    response = await analysis_client.delete(f"/api/v1/entries/{deleted}", headers=user.headers)
    assert response.status_code == 204
    assert await snapshot(analysis_app, user) is None
    assert len(await refresh_jobs(analysis_app, user)) == 1
    body = (await analysis_client.get(THEMES, headers=user.headers)).json()
    assert body["entries"] == 15
    assert deleted not in representatives(body)

    response = await analysis_client.patch(
        f"/api/v1/entries/{edited}",
        json={"content": "Something else entirely."},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert await snapshot(analysis_app, user) is None
    body = (await analysis_client.get(THEMES, headers=user.headers)).json()
    assert body["entries"] == 14
    assert edited not in representatives(body)

    await make_due(analysis_app, user)
    await histories.analyse_all(settings, analysis_app)  # the edit analysed, then the refresh
    stored = await snapshot(analysis_app, user)
    assert stored is not None
    assert deleted not in stored.body.decode()
    assert json.loads(stored.body)["entries"] == 15  # the edited entry is back


async def test_a_deletion_during_a_live_clustering_is_not_stored_over(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, ids = await user_with_two_subjects(  # the refresh waits
        analysis_settings, analysis_app, analysis_client, make_analysis_user
    )
    assert await snapshot(analysis_app, user) is None
    loop = asyncio.get_running_loop()
    clustering = themes_service.find_themes

    def deleting_meanwhile(*args: Any, **kwargs: Any) -> Any:
        # Not a stand-in: the real clustering, with the user's real DELETE request sent
        # (on the test's loop) while it runs in its thread, to hit the race on purpose.
        deleted = asyncio.run_coroutine_threadsafe(
            analysis_client.delete(f"/api/v1/entries/{ids[0]}", headers=user.headers), loop
        ).result()
        assert deleted.status_code == 204
        return clustering(*args, **kwargs)

    monkeypatch.setattr(themes_service, "find_themes", deleting_meanwhile)
    response = await analysis_client.get(THEMES, headers=user.headers)
    assert response.status_code == 200, response.text
    assert await snapshot(analysis_app, user) is None
    monkeypatch.undo()
    body = (await analysis_client.get(THEMES, headers=user.headers)).json()
    assert body["entries"] == 15
    assert ids[0] not in representatives(body)


async def test_an_analysis_landing_as_a_refresh_finishes_queues_the_next(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user, _ = await user_with_two_subjects(  # the refresh waits
        analysis_settings, analysis_app, analysis_client, make_analysis_user
    )
    # The refresh job, claimed as a worker claims it: running, so a write's own request for
    # a refresh is deduplicated against it.
    async with analysis_app.state.sessionmaker() as session:
        (job_id,) = (
            await session.execute(
                text(
                    "UPDATE jobs SET status = 'running', locked_by = 'test-worker',"
                    " locked_until = now() + interval '5 minutes'"
                    " WHERE kind = 'themes.refresh' AND user_id = :u RETURNING id"
                ),
                {"u": user.id},
            )
        ).one()
        await session.commit()

    sessions = analysis_app.state.sessionmaker
    async with sessions() as refreshing:
        # The worker's order: refresh, complete the job, one commit.
        assert await themes_service.refresh(refreshing, user_id=user.id) is True

        async def analysis_commits() -> None:
            # What the analysis batch does after storing this user's analyses.
            async with sessions() as analysing:
                await jobs_service.queue_themes_refresh(
                    analysing, user_id=user.id, delay=dt.timedelta(0)
                )
                await analysing.commit()

        landing = asyncio.create_task(analysis_commits())
        await asyncio.sleep(0.5)
        # Its refresh request waits for this refresh to end instead of being swallowed by it.
        assert not landing.done()
        await jobs_repo.complete(refreshing, job_id=job_id, worker="test-worker")
        await refreshing.commit()
    await asyncio.wait_for(landing, timeout=30)
    # The refresh that ended could not have seen it; the next one is queued.
    assert len(await refresh_jobs(analysis_app, user)) == 1
