"""A new entry is analysed at once, not a poll interval later: the worker sleeps on
`LISTEN journal_jobs` and `repositories/jobs.enqueue` notifies in the writer's
transaction (`wakeup.py`). Polling stays the safety net: when the listening connection
is killed the worker goes on analysing on its poll, and listens again by itself.

Real PostgreSQL, model server and worker code; the worker's poll interval is set far
longer than any wait here, so only a notification can explain a quick analysis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from journal_api import settings as settings_module
from journal_api import wakeup, working

from tests.journal_api.conftest import MakeUser, TestUser, analysis_worker
from tests.support.postgres import PostgresServer

ENTRIES = "/api/v1/entries"
LONG_POLL_SECONDS = 120.0
# Far under the poll interval, far over an analysis on a busy 2-core machine.
QUICK_SECONDS = 30.0


async def analysed_within(
    client: httpx.AsyncClient, user: TestUser, entry_id: str, seconds: float
) -> float:
    """Seconds until the entry shows its analysis; fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        response = await client.get(f"{ENTRIES}/{entry_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        if response.json()["analysis"] is not None:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"entry {entry_id} not analysed within {seconds} s")


async def wait_for(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def write(client: httpx.AsyncClient, user: TestUser, content: str) -> str:
    response = await client.post(ENTRIES, json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    entry_id: str = response.json()["id"]
    return entry_id


@pytest.fixture
async def running_worker(
    analysis_settings: settings_module.Settings, analysis_app: FastAPI, analysis_client: object
) -> AsyncIterator[working.Worker]:
    """A worker loop with a long poll, listening for jobs, running in the background."""
    settings = analysis_settings.model_copy(update={"worker_poll_seconds": LONG_POLL_SECONDS})
    listener = wakeup.Listener(settings.database_url)
    async with analysis_worker(settings, analysis_app, listener=listener) as worker:
        task = asyncio.create_task(worker.run())
        try:
            await wait_for(lambda: listener.listening)
            # Let the first turn (which drains whatever earlier tests left) finish.
            await asyncio.sleep(0.5)
            yield worker
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=60)
            await listener.close()


async def test_a_new_entry_wakes_the_sleeping_worker(
    running_worker: working.Worker,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    for content in (
        "Walked to the lake at dusk; the water was still.",
        "A tense call with my boss.",
    ):
        entry_id = await write(analysis_client, user, content)
        waited = await analysed_within(analysis_client, user, entry_id, QUICK_SECONDS)
        assert waited < LONG_POLL_SECONDS / 4


async def test_a_lost_listener_falls_back_to_polling_and_listens_again(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
    postgres_server: PostgresServer,
) -> None:
    settings = analysis_settings.model_copy(update={"worker_poll_seconds": 0.5})
    listener = wakeup.Listener(settings.database_url)
    database = settings.database_url.rsplit("/", 1)[1]
    user = await make_analysis_user()
    async with analysis_worker(settings, analysis_app, listener=listener) as worker:
        task = asyncio.create_task(worker.run())
        try:
            await wait_for(lambda: listener.listening)
            killed = postgres_server.psql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%'",
                database,
            )
            assert killed == "1"
            await wait_for(lambda: not listener.listening)
            # Nobody listens now: the poll still finds the job.
            entry_id = await write(analysis_client, user, "Rain all day; I read by the window.")
            await analysed_within(analysis_client, user, entry_id, QUICK_SECONDS)
            # And the listener comes back by itself, without a restart.
            await wait_for(lambda: listener.listening, seconds=wakeup.RECONNECT_SECONDS + 30)
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=60)
            await listener.close()
