"""A PostgreSQL outage needs no API restart, and loses no acknowledged write.

A real API process keeps writing entries for a signed-in user while PostgreSQL crashes
(`immediate` stop), stays down for a while, and comes back. The test proves each part:

- requests did hit the outage, and each was answered 503 with `Retry-After` (never a
  500, never a dropped connection);
- the API recovered by itself: writes succeed again after PostgreSQL is back, without
  the API being restarted;
- every write answered 201 is still there afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from journal_api import settings as settings_module

from tests.journal_api.conftest import TestUser, register_and_login
from tests.journal_api.processes import ApiProcess
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

ENTRIES = "/api/v1/entries"
DOWN_SECONDS = 1.5


@dataclasses.dataclass(frozen=True)
class Outcome:
    at: float  # time.monotonic() when the answer came
    status: int  # 0: the connection failed
    retry_after: str | None
    entry_id: str | None


@pytest.fixture
def api_process(
    api_settings: settings_module.Settings, redis_server: RedisServer, services_dir: Path
) -> Iterator[ApiProcess]:
    process = ApiProcess(
        services_dir, database_url=api_settings.database_url, redis_url=redis_server.url
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _keep_writing(
    client: httpx.AsyncClient, user: TestUser, outcomes: list[Outcome], stop: asyncio.Event
) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            response = await client.post(
                ENTRIES, json={"content": f"durable entry {n}"}, headers=user.headers
            )
            entry_id = response.json().get("id") if response.status_code == 201 else None
            outcome = Outcome(
                time.monotonic(),
                response.status_code,
                response.headers.get("retry-after"),
                entry_id,
            )
        except httpx.TransportError:
            outcome = Outcome(time.monotonic(), 0, None, None)
        outcomes.append(outcome)
        await asyncio.sleep(0.01)


@pytest.mark.slow
async def test_outage_answers_503_then_recovers_and_loses_no_acknowledged_write(
    api_process: ApiProcess, postgres_server: PostgresServer
) -> None:
    outcomes: list[Outcome] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=api_process.url, timeout=30) as client:
        user = await register_and_login(client)
        writer = asyncio.create_task(_keep_writing(client, user, outcomes, stop))
        try:
            await asyncio.sleep(0.5)
            crash_at = time.monotonic()
            await asyncio.to_thread(postgres_server.stop, "immediate")
            down_at = time.monotonic()
            await asyncio.sleep(DOWN_SECONDS)
            await asyncio.to_thread(postgres_server.start)
            up_at = time.monotonic()
            await asyncio.sleep(1.5)
        finally:
            stop.set()
            await writer
            if not postgres_server.initialized() or not _accepts(postgres_server):
                postgres_server.start()

        errors = [line for line in api_process.log().splitlines() if '"ERROR"' in line]
        statuses = {outcome.status for outcome in outcomes}
        assert statuses <= {201, 503}, f"answers other than 201 and 503: {statuses}: {errors[:3]}"
        before = [o for o in outcomes if o.at < crash_at]
        during = [o for o in outcomes if down_at < o.at < up_at]
        after = [o for o in outcomes if o.at > up_at]
        assert before
        assert all(o.status == 201 for o in before)
        # Requests did hit the outage, and were told when to come back.
        unavailable = [o for o in during if o.status == 503]
        assert unavailable, f"no request hit the outage: {[o.status for o in during]}"
        assert all(o.retry_after is not None and int(o.retry_after) >= 1 for o in unavailable)
        # ... and the API recovered by itself once PostgreSQL was back.
        assert after
        assert after[-1].status == 201, [o.status for o in after]
        again = await client.post(ENTRIES, json={"content": "after"}, headers=user.headers)
        assert again.status_code == 201
        acknowledged = [o.entry_id for o in outcomes if o.status == 201]
        for entry_id in acknowledged:
            stored = await client.get(f"{ENTRIES}/{entry_id}", headers=user.headers)
            assert stored.status_code == 200, entry_id


def _accepts(server: PostgresServer) -> bool:
    try:
        return server.psql("SELECT 1") == "1"
    except Exception:
        return False
