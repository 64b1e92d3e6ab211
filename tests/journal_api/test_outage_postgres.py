"""A PostgreSQL restart needs no API restart, and loses no acknowledged write.

A real API process keeps registering accounts while PostgreSQL is crash-restarted
(`immediate` mode). Requests that fail meanwhile fail as 503 problems, never as 500s;
every registration answered 202 is still there afterwards; and the API serves again
once PostgreSQL is back, without being restarted itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from journal_api import settings as settings_module

from tests.journal_api.conftest import TEST_PASSWORD, unique_email
from tests.journal_api.processes import ApiProcess
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer


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


async def _keep_registering(
    client: httpx.AsyncClient, outcomes: dict[str, int], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        email = unique_email("durable")
        try:
            response = await client.post(
                "/api/v1/auth/register", json={"email": email, "password": TEST_PASSWORD}
            )
            outcomes[email] = response.status_code
        except httpx.TransportError:
            outcomes[email] = 0
        await asyncio.sleep(0.01)


@pytest.mark.slow
async def test_restart_loses_no_acknowledged_write(
    api_process: ApiProcess, postgres_server: PostgresServer
) -> None:
    outcomes: dict[str, int] = {}
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=api_process.url, timeout=30) as client:
        writer = asyncio.create_task(_keep_registering(client, outcomes, stop))
        try:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(postgres_server.restart, "immediate")
            await asyncio.sleep(0.5)
        finally:
            stop.set()
            await writer
            if not postgres_server.initialized() or not _accepts(postgres_server):
                postgres_server.start()
        acknowledged = [email for email, status in outcomes.items() if status == 202]
        failures = {status for status in outcomes.values() if status != 202}
        assert acknowledged, "no write was acknowledged at all"
        errors = [line for line in api_process.log().splitlines() if '"ERROR"' in line]
        assert failures <= {503}, f"failures other than 503: {failures}: {errors[:3]}"
        # The API recovered by itself: the first request after the restart works.
        email = unique_email("after")
        after = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": TEST_PASSWORD}
        )
        assert after.status_code == 202
        for email in acknowledged:
            login = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": TEST_PASSWORD}
            )
            assert login.status_code == 200, email


def _accepts(server: PostgresServer) -> bool:
    try:
        return server.psql("SELECT 1") == "1"
    except Exception:
        return False
