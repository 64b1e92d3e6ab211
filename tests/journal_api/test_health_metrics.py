"""Operations endpoints: liveness, readiness (database + schema head; Redis reported but
not required; no schema revision shown) and the Prometheus exposition after real traffic.
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
    assert body["schema"] == "compatible"
    assert body["redis"] == "ok"
    # Anyone can reach /readyz: it must not say which release (schema) it runs.
    head = migrating.head_revision()
    assert head is not None
    assert head not in response.text
    assert set(body) == {"status", "database", "schema", "redis"}


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
    assert response.json()["schema"] == "incompatible"


@pytest.mark.parametrize(
    ("revision", "line", "ready"),
    [
        ("0005_x", 1, True),  # this build's head
        ("0007_added_column", 1, True),  # a newer release's expand-only migrations
        ("0007_dropped_column", 2, False),  # a newer release contracted the schema
        ("0007_unrecorded", None, False),  # a newer schema whose line nobody recorded
        ("0004_y", 1, False),  # a revision this build ships, behind its head
        ("0003_unknown_older", 1, False),  # unknown and numbered before the head
        ("ffee11_unnumbered", 1, False),
        (None, 1, False),  # not migrated at all
    ],
)
def test_schema_compatibility_rule(revision: str | None, line: int | None, ready: bool) -> None:
    known = frozenset({"0004_y", "0005_x"})
    assert (
        migrating.schema_compatible(revision, line, head="0005_x", known=known, build_line=1)
        is ready
    )


async def test_old_pods_stay_ready_while_a_newer_compatible_schema_is_applied(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    database = "journal_api_newer_schema"
    url = postgres_server.create_database(database)
    settings = api_settings.model_copy(update={"database_url": url})
    await migrating.run(settings)
    line = migrating.COMPATIBILITY_LINE
    assert (
        postgres_server.psql(
            "SELECT obj_description('alembic_version'::regclass, 'pg_class')", database
        )
        == f"journal-api compatibility line {line}"
    )
    # What a newer release's migrations Job leaves behind: a revision this build never saw.
    postgres_server.psql("UPDATE alembic_version SET version_num = '9001_expand_only'", database)
    async with serving(settings) as client:
        newer = await client.get("/readyz")
        postgres_server.psql(
            f"COMMENT ON TABLE alembic_version IS 'journal-api compatibility line {line + 1}'",
            database,
        )
        contracted = await client.get("/readyz")
    assert newer.status_code == 200, newer.json()
    assert newer.json()["schema"] == "compatible"
    assert "9001" not in newer.text
    assert contracted.status_code == 503
    assert contracted.json()["status"] == "not_ready"


async def test_readyz_is_not_ready_without_database(api_settings: settings_module.Settings) -> None:
    from tests.support import ports

    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{ports.free_port()}/journal"
    async with serving(api_settings.model_copy(update={"database_url": nowhere})) as client:
        response = await client.get("/readyz")
        me = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response.json()["schema"] == "unknown"
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
