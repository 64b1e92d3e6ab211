"""Passwords without side channels: locks alike for every email, hashing that cannot
starve other requests, hashes upgraded when the argon2 parameters change.

- A real account and an unknown email lock after the same failures, answer the same
  status, detail and `Retry-After`, and their counts decay alike, with Redis up or
  down (the API without Redis behaves as with `spec.cache.mode: disabled`).
- 50 concurrent logins for unknown emails, with a tiny connection pool and a short pool
  timeout, leave other routes answering (no 503): hashing holds no connection.
- A login with a hash made under older parameters stores a hash with the current ones.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from journal_api import settings as settings_module
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.journal_api.conftest import TEST_PASSWORD, MakeUser, register_and_login, unique_email
from tests.journal_api.test_security_tokens import serving
from tests.support import ports

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"
WRONG = "wrong password 1"


def redis_url(api_settings: settings_module.Settings, state: str) -> str:
    return api_settings.redis_url if state == "up" else f"redis://127.0.0.1:{ports.free_port()}/0"


async def attempts(client: httpx.AsyncClient, email: str, count: int) -> list[httpx.Response]:
    return [
        await client.post(LOGIN, json={"email": email, "password": WRONG}) for _ in range(count)
    ]


def answer(response: httpx.Response) -> tuple[int, str, str | None]:
    return response.status_code, response.json()["detail"], response.headers.get("retry-after")


@pytest.mark.parametrize("redis", ["up", "down"])
async def test_real_and_unknown_emails_lock_alike(
    api_settings: settings_module.Settings, redis: str
) -> None:
    settings = api_settings.model_copy(
        update={
            "redis_url": redis_url(api_settings, redis),
            "login_max_failures": 3,
            "login_lockout_seconds": 30,
        }
    )
    async with serving(settings) as client:
        real = (await register_and_login(client)).email
        unknown = unique_email("ghost")
        real_answers = [answer(r) for r in await attempts(client, real, 4)]
        unknown_answers = [answer(r) for r in await attempts(client, unknown, 4)]
    assert [a[0] for a in real_answers] == [401, 401, 429, 429]
    # Same statuses, details and Retry-After (the second lock answer may be a second on).
    for mine, theirs in zip(real_answers, unknown_answers, strict=True):
        assert mine[:2] == theirs[:2]
        if mine[2] is not None:
            assert theirs[2] is not None
            assert abs(int(mine[2]) - int(theirs[2])) <= 1
            assert 28 <= int(mine[2]) <= 30
        else:
            assert theirs[2] is None


@pytest.mark.parametrize("redis", ["up", "down"])
async def test_failure_counts_decay_alike(
    api_settings: settings_module.Settings, redis: str
) -> None:
    settings = api_settings.model_copy(
        update={
            "redis_url": redis_url(api_settings, redis),
            "login_max_failures": 3,
            "login_lockout_seconds": 1,
        }
    )
    async with serving(settings) as client:
        real = (await register_and_login(client)).email
        unknown = unique_email("ghost")
        for email in (real, unknown):
            await attempts(client, email, 2)
        await asyncio.sleep(1.5)  # quieter than the window: the counts start over
        for email in (real, unknown):
            statuses = [r.status_code for r in await attempts(client, email, 2)]
            assert statuses == [401, 401], email


async def test_concurrent_unknown_email_logins_do_not_starve_other_routes(
    api_settings: settings_module.Settings,
) -> None:
    settings = api_settings.model_copy(
        update={
            # Five connections, a three-second wait for one, and hashes slow enough that
            # 50 of them, one at a time, take longer than that: a login holding its
            # connection while it waits to hash would starve everyone else.
            "db_pool_size": 5,
            "db_max_overflow": 0,
            "db_pool_timeout_seconds": 3.0,
            "password_hash_time_cost": 3,
            "password_hash_memory_kib": 32 * 1024,
            "password_hash_concurrency": 1,
            "login_max_failures": 1000,
        }
    )
    async with serving(settings) as client:
        user = await register_and_login(client)

        async def guess() -> int:
            body = {"email": unique_email("nobody"), "password": WRONG}
            return (await client.post(LOGIN, json=body)).status_code

        async def other_route(index: int) -> int:
            # Once the burst's first queries are done, while its logins queue for hashing.
            await asyncio.sleep(1.0 + index * 0.2)
            body = {"display_name": f"still here {index}"}
            return (await client.patch(ME, headers=user.headers, json=body)).status_code

        results = await asyncio.gather(
            *(guess() for _ in range(50)), *(other_route(i) for i in range(10))
        )
    logins, others = results[:50], results[50:]
    # The burst may time out some of its own logins in so small a pool (503), never others'.
    assert set(logins) <= {401, 503}
    assert 401 in logins  # the burst did reach the hashing
    assert others == [200] * 10


def argon2_parameters(password_hash: str) -> tuple[int, int]:
    match = re.search(r"\$m=(\d+),t=(\d+),", password_hash)
    assert match is not None, password_hash
    return int(match.group(1)), int(match.group(2))


async def test_a_login_upgrades_a_hash_made_with_older_parameters(
    make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()  # hashed with the test settings' cost

    async def stored() -> str:
        engine = create_async_engine(api_settings.database_url)
        try:
            async with engine.connect() as connection:
                value = await connection.execute(
                    text("SELECT password_hash FROM users WHERE id = :id"), {"id": user.id}
                )
                return str(value.scalar_one())
        finally:
            await engine.dispose()

    assert argon2_parameters(await stored()) == (
        api_settings.password_hash_memory_kib,
        api_settings.password_hash_time_cost,
    )
    stronger = api_settings.model_copy(
        update={"password_hash_memory_kib": 2048, "password_hash_time_cost": 2}
    )
    async with serving(stronger) as client:
        login = await client.post(LOGIN, json={"email": user.email, "password": TEST_PASSWORD})
        assert login.status_code == 200
        assert argon2_parameters(await stored()) == (2048, 2)
        again = await client.post(LOGIN, json={"email": user.email, "password": TEST_PASSWORD})
        assert again.status_code == 200
