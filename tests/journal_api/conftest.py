"""Fixtures for the API tests: one migrated database, the app, an HTTP client, users.

Shared by every `tests/journal_api` module (names are stable; other suites build on them):

- `api_settings`: `Settings` for a fresh database migrated to head on the session's
  PostgreSQL, the session's Redis, a fixed test signing key and limits high enough
  that ordinary tests never hit them.
- `app`: `create_app(api_settings)`.
- `client`: an `httpx.AsyncClient` over the app in-process, lifespan started.
- `outbox_settings`: like `api_settings`, on a database of its own, for the worker tests
  that must see no job but their own.
- `make_user`: `await make_user()` registers and logs in a user with a unique email and
  returns a `TestUser` (`.email`, `.password`, `.id`, `.headers`, `.access_token`,
  `.refresh_token`).
- `analysis_settings`, `analysis_app`, `analysis_client`, `make_analysis_user`: the same
  on a database of their own whose app talks to the session's real model server
  (`inference_server`), for the analysis and semantic-search tests;
  `async with analysis_worker(settings, app) as worker` gives a worker that analyses
  with it, and `drain(worker)` runs it until nothing is due.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from journal_api import main, migrating, wakeup, working
from journal_api import metrics as metrics_module
from journal_api import settings as settings_module
from journal_api.clients import inference
from journal_api.services import analysis as analysis_service
from pydantic import SecretStr

from tests.support.inference import InferenceServer
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

TEST_JWT_KEY = "test-signing-key-0123456789abcdef0123456789abcdef"
TEST_JWT_KID = "test-k1"
TEST_PASSWORD = "correct horse battery 9"
BASE_URL = "http://testserver"
_counter = itertools.count()


def make_settings(
    database_url: str, redis_url: str, **overrides: object
) -> settings_module.Settings:
    """Test settings: development environment, fixed key, generous limits."""
    values: dict[str, object] = {
        "environment": "development",
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_key": SecretStr(TEST_JWT_KEY),
        "jwt_kid": TEST_JWT_KID,
        "rate_limit_per_ip": 1_000_000,
        "rate_limit_per_user": 1_000_000,
        "rate_limit_auth_per_ip": 1_000_000,
        "rate_limit_auth_per_account": 1_000_000,
        "login_slowdown_base_seconds": 0.01,
        # Cheap hashing keeps user-heavy tests fast; production keeps the default cost.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "db_pool_size": 5,
        "cache_retry_seconds": 0.2,
    }
    values.update(overrides)
    return settings_module.Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def api_settings(
    postgres_server: PostgresServer, redis_server: RedisServer
) -> settings_module.Settings:
    database_url = postgres_server.create_database("journal_api_tests")
    settings = make_settings(database_url, redis_server.url)
    await migrating.run(settings)
    return settings


@pytest.fixture(scope="session")
async def outbox_settings(
    postgres_server: PostgresServer, redis_server: RedisServer
) -> settings_module.Settings:
    database_url = postgres_server.create_database("journal_api_outbox_tests")
    settings = make_settings(database_url, redis_server.url)
    await migrating.run(settings)
    return settings


# Outages in the analysis tests last seconds, not minutes: probe again quickly.
FAST_RECOVERY: dict[str, object] = {
    "inference_retry_base_seconds": 0.05,
    "inference_breaker_failures": 2,
    "inference_breaker_reset_seconds": 0.2,
    "inference_breaker_max_reset_seconds": 1.0,
    "worker_retry_base_seconds": 0,
    "worker_poll_seconds": 0.05,
}


@pytest.fixture(scope="session")
async def analysis_settings(
    postgres_server: PostgresServer, redis_server: RedisServer, inference_server: InferenceServer
) -> settings_module.Settings:
    database_url = postgres_server.create_database("journal_api_analysis_tests")
    settings = make_settings(
        database_url, redis_server.url, inference_url=inference_server.url, **FAST_RECOVERY
    )
    await migrating.run(settings)
    return settings


@pytest.fixture(scope="session")
def analysis_app(analysis_settings: settings_module.Settings) -> FastAPI:
    return main.create_app(analysis_settings)


@pytest.fixture(scope="session")
async def analysis_client(analysis_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        analysis_app.router.lifespan_context(analysis_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=analysis_app), base_url=BASE_URL
        ) as client,
    ):
        yield client


@pytest.fixture
def make_analysis_user(analysis_client: httpx.AsyncClient) -> MakeUser:
    """Like `make_user`, on `analysis_client`."""

    async def factory(*, email: str | None = None, timezone: str = "UTC") -> TestUser:
        return await register_and_login(analysis_client, email=email, timezone=timezone)

    return factory


@contextlib.asynccontextmanager
async def analysis_worker(
    settings: settings_module.Settings, app: FastAPI, *, listener: wakeup.Listener | None = None
) -> AsyncIterator[working.Worker]:
    """``async with analysis_worker(settings, app) as worker``: a worker on ``app``'s
    database and cache that analyses with ``settings``' model server (its own client and
    breaker, as a worker process has). The app's lifespan must be running."""
    client = inference.InferenceClient.from_settings(settings)
    assert client is not None, "these settings name no model server"
    analyzer = analysis_service.Analyzer(
        settings, client=client, sessionmaker=app.state.sessionmaker, cache=app.state.cache
    )
    try:
        yield working.Worker(
            settings,
            sessionmaker=app.state.sessionmaker,
            metrics=metrics_module.WorkerMetrics(),
            analyzer=analyzer,
            listener=listener,
            cache=app.state.cache,
        )
    finally:
        await client.aclose()


async def drain(worker: working.Worker) -> None:
    """Run turns until one claims nothing (jobs left waiting for a later time stay)."""
    while await worker.run_once():
        pass


@pytest.fixture(scope="session")
def app(api_settings: settings_module.Settings) -> FastAPI:
    return main.create_app(api_settings)


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


@dataclass
class TestUser:
    __test__ = False  # not a test class, despite the name

    email: str
    password: str
    id: uuid.UUID
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


MakeUser = Callable[..., Awaitable[TestUser]]


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.com"


async def register_and_login(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = TEST_PASSWORD,
    timezone: str = "UTC",
) -> TestUser:
    email = email or unique_email()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "timezone": timezone},
    )
    assert response.status_code == 202, response.text
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens = response.json()
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200, me.text
    user_id = uuid.UUID(me.json()["id"])
    return TestUser(
        email=email,
        password=password,
        id=user_id,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> MakeUser:
    """``await make_user(email=None, password=TEST_PASSWORD, timezone="UTC")``."""

    async def factory(
        *, email: str | None = None, password: str = TEST_PASSWORD, timezone: str = "UTC"
    ) -> TestUser:
        return await register_and_login(client, email=email, password=password, timezone=timezone)

    return factory
