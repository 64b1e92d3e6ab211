"""Operations endpoints: liveness, readiness (database + schema head; Redis reported but
not required) and the Prometheus exposition after real traffic.
"""

from __future__ import annotations

import httpx
import pytest
from journal_api import migrating
from journal_api import settings as settings_module

from tests.journal_api.conftest import MakeUser
from tests.journal_api.test_security_tokens import serving
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer


async def test_healthz_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["schema_revision"] == body["head_revision"] == migrating.head_revision()
    assert body["redis"] == "ok"


async def test_readyz_stays_ready_with_redis_down(
    client: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    redis_server.stop()
    try:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["status"] == "ready"
        assert response.json()["redis"] == "unavailable"
    finally:
        redis_server.start()
    assert (await client.get("/readyz")).json()["redis"] == "ok"


async def test_readyz_is_not_ready_before_migrations(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    unmigrated = postgres_server.create_database("journal_api_unmigrated")
    async with serving(api_settings.model_copy(update={"database_url": unmigrated})) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert response.json()["schema_revision"] is None


async def test_readyz_is_not_ready_without_database(api_settings: settings_module.Settings) -> None:
    from tests.support import ports

    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{ports.free_port()}/journal"
    async with serving(api_settings.model_copy(update={"database_url": nowhere})) as client:
        response = await client.get("/readyz")
        me = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert me.status_code == 200


async def test_metrics_expose_requests_by_route_template(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await client.get("/api/v1/users/me", headers=user.headers)
    await client.get("/api/v1/does-not-exist")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'journal_api_requests_total{method="GET",route="/api/v1/users/me",status="200"}' in text
    assert 'route="unmatched"' in text
    assert "journal_api_request_duration_seconds_bucket" in text
    for name in (
        "journal_api_db_pool_checked_out",
        "journal_api_db_pool_size",
        "journal_api_cache_hits_total",
        "journal_api_cache_misses_total",
        "journal_api_rate_limit_rejections_total",
    ):
        assert name in text


@pytest.mark.parametrize("path", ["/api/v1/users/me", "/healthz"])
async def test_metrics_never_label_raw_paths(client: httpx.AsyncClient, path: str) -> None:
    await client.get(path + "/0b9c-some-id")
    assert "0b9c-some-id" not in (await client.get("/metrics")).text
