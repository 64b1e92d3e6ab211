"""A model-server outage loses nothing and needs no restart of the API or the worker.

A real model server on fixed ports is stopped while a worker loop runs, then started
again on the same ports. Meanwhile:
- entries are still accepted (201) and their analysis jobs wait in the queue: no job
  dies, attempts are refunded, the worker's breaker gauge shows it open;
- `mode=semantic` answers 503 problem+json with `Retry-After`, and `mode=hybrid`
  answers full-text results marked `degraded` with the reason;
- once the server is back, every entry is analysed by the same worker, and semantic
  search answers again from the same app.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from journal_api import main
from journal_api import settings as settings_module
from sqlalchemy import text

from tests.journal_api.conftest import BASE_URL, analysis_worker, register_and_login
from tests.support import ports
from tests.support.inference import InferenceServer

ENTRIES = "/api/v1/entries"
SEARCH = "/api/v1/search"
WRITTEN_DURING_OUTAGE = 12
RECOVERY_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def flaky_server(services_dir: Path) -> Iterator[InferenceServer]:
    # Fixed ports: the restarted server must be found where the clients look for it.
    server = InferenceServer(
        services_dir / "inference-outage" / "server.log",
        http_port=ports.free_port(),
        grpc_port=ports.free_port(),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def outage_settings(
    analysis_settings: settings_module.Settings, flaky_server: InferenceServer
) -> settings_module.Settings:
    return analysis_settings.model_copy(update={"inference_url": flaky_server.url})


@pytest.fixture(scope="module")
async def outage_app(
    outage_settings: settings_module.Settings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = main.create_app(outage_settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield app, client


async def analysed(app: FastAPI, entry_ids: list[str]) -> int:
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM entry_analyses WHERE status = 'done' AND entry_id = ANY(:ids)"
            ),
            {"ids": [uuid.UUID(entry_id) for entry_id in entry_ids]},
        )
    return int(count or 0)


async def jobs_of(app: FastAPI, entry_ids: list[str]) -> list[Any]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT status, attempts, last_error FROM jobs WHERE kind = 'entry.analyze' "
                "AND payload->>'entry_id' = ANY(:ids)"
            ),
            {"ids": entry_ids},
        )
        return list(rows)


async def wait_for(condition: Any, *, within: float = RECOVERY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
async def test_entries_written_while_the_model_server_is_down_are_analysed_after_it_returns(
    outage_app: tuple[FastAPI, httpx.AsyncClient],
    outage_settings: settings_module.Settings,
    flaky_server: InferenceServer,
) -> None:
    app, client = outage_app
    user = await register_and_login(client)
    async with analysis_worker(outage_settings, app) as worker:
        loop = asyncio.create_task(worker.run())
        try:
            before = (
                await client.post(
                    ENTRIES, json={"content": "Quiet day at the allotment."}, headers=user.headers
                )
            ).json()["id"]
            await wait_for(lambda: _all_analysed(app, [before]))

            await asyncio.to_thread(flaky_server.stop)
            written = []
            for n in range(WRITTEN_DURING_OUTAGE):
                response = await client.post(
                    ENTRIES,
                    json={"content": f"Outage note {n}: the heron came back to the pond."},
                    headers=user.headers,
                )
                assert response.status_code == 201, response.text
                assert response.json()["analysis"] is None
                written.append(response.json()["id"])

            await _search_while_down(client, user.headers)
            await wait_for(lambda: _breaker_open(worker.metrics.render()), within=30)
            await asyncio.sleep(1.0)  # a few more turns of the loop against a dead server
            waiting = await jobs_of(app, written)
            assert len(waiting) == WRITTEN_DURING_OUTAGE  # one job per entry, none lost
            assert {row.status for row in waiting} <= {"queued", "running"}
            assert max(row.attempts for row in waiting) <= 1  # outages spend no attempts
            assert await analysed(app, written) == 0

            await asyncio.to_thread(flaky_server.start)
            await wait_for(lambda: _all_analysed(app, written))
            assert await jobs_of(app, written) == []
            assert not await _breaker_open(worker.metrics.render())
            await wait_for(lambda: _semantic_answers(client, user.headers), within=30)
        finally:
            worker.stop()
            await asyncio.wait_for(loop, timeout=60)
            if not flaky_server.running:
                await asyncio.to_thread(flaky_server.start)


async def _all_analysed(app: FastAPI, entry_ids: list[str]) -> bool:
    return await analysed(app, entry_ids) == len(entry_ids)


async def _breaker_open(rendered: bytes) -> bool:
    return b"journal_worker_inference_breaker_open 1.0" in rendered


async def _semantic_answers(client: httpx.AsyncClient, headers: dict[str, str]) -> bool:
    response = await client.get(
        SEARCH, params={"q": "a bird by the water", "mode": "semantic"}, headers=headers
    )
    if response.status_code != 200:
        return False
    assert len(response.json()["items"]) == 10
    return True


async def _search_while_down(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    semantic = await client.get(
        SEARCH, params={"q": "a bird by the water", "mode": "semantic"}, headers=headers
    )
    assert semantic.status_code == 503, semantic.text
    assert semantic.headers["content-type"].startswith("application/problem+json")
    assert int(semantic.headers["retry-after"]) >= 1
    assert "model server is unavailable" in semantic.json()["detail"]

    hybrid = await client.get(SEARCH, params={"q": "heron", "mode": "hybrid"}, headers=headers)
    assert hybrid.status_code == 200, hybrid.text
    body = hybrid.json()
    assert (body["mode"], body["degraded"]) == ("hybrid", True)
    assert "full-text results only" in body["degraded_reason"]
    assert len(body["items"]) == 10
    assert all(item["matched_by"] == ["fulltext"] for item in body["items"])
