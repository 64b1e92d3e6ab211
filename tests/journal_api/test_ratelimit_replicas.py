"""Rate limits are shared by replicas through Redis, and still enforced without Redis.

Two real API processes share the test Redis (a private database number, so other tests'
traffic does not count): requests spread over both add up to one limit. With Redis
unreachable, each process falls back to its own in-memory limit (fail open, per process).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from journal_api import settings as settings_module

from tests.journal_api.conftest import TEST_PASSWORD, unique_email
from tests.journal_api.processes import ApiProcess
from tests.journal_api.test_security_tokens import serving
from tests.support import ports
from tests.support.redis import RedisServer

PER_IP = 8
PER_USER = 4


@pytest.fixture(scope="module")
def replicas(
    api_settings: settings_module.Settings, redis_server: RedisServer, services_dir: Path
) -> Iterator[list[ApiProcess]]:
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/3"
    # A database of its own, emptied first: no other test's requests count here.
    with redis.Redis.from_url(redis_url) as private:
        private.flushdb()
    processes = [
        ApiProcess(
            services_dir,
            database_url=api_settings.database_url,
            redis_url=redis_url,
            env={"rate_limit_per_ip": str(PER_IP), "rate_limit_per_user": str(PER_USER)},
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()


@pytest.mark.slow
async def test_limits_are_shared_across_two_processes(replicas: list[ApiProcess]) -> None:
    a, b = (httpx.AsyncClient(base_url=process.url) for process in replicas)
    async with a, b:
        email = unique_email("limited")
        credentials = {"email": email, "password": TEST_PASSWORD}
        assert (await a.post("/api/v1/auth/register", json=credentials)).status_code == 202
        login = await b.post("/api/v1/auth/login", json=credentials)  # IP request 2
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        statuses = [
            (await client.get("/api/v1/users/me", headers=headers)).status_code
            for client in (a, b, a, b, b)
        ]
        # The user limit (4) is reached across both processes: the 5th is refused.
        assert statuses == [200, 200, 200, 200, 429]
        refused = await a.get("/api/v1/users/me", headers=headers)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["content-type"] == "application/problem+json"
        assert "per user" in refused.json()["detail"]
        # Authenticated requests counted against the user only: the address has used 2 of
        # its 8 (register, login), so 6 anonymous requests pass and the 7th is refused.
        anonymous = [(await b.get("/api/v1/users/me")).status_code for _ in range(7)]
        assert anonymous == [401] * 6 + [429]
        refused_anonymous = await b.get("/api/v1/users/me")
        assert "per ip" in refused_anonymous.json()["detail"]
        metrics = (await a.get("/metrics")).text
        assert 'journal_api_rate_limit_rejections_total{scope="user"} 1.0' in metrics


async def test_limits_hold_per_process_when_redis_is_down(
    api_settings: settings_module.Settings,
) -> None:
    dead_redis = f"redis://127.0.0.1:{ports.free_port()}/0"
    settings = api_settings.model_copy(update={"redis_url": dead_redis, "rate_limit_per_ip": 3})
    async with serving(settings) as client:
        statuses = [(await client.get("/api/v1/users/me")).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        assert (await client.get("/healthz")).status_code == 200
