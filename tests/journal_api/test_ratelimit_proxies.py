"""Rate limits that hold behind a proxy, on a Redis database of their own.

- The client address is the right-most `X-Forwarded-For` hop outside the trusted proxy
  ranges: a client cannot choose its bucket by writing the left-most entry, and clients
  behind one ingress get buckets of their own.
- A request with a valid bearer token counts against its user, not the shared address.
- `/api/v1/auth/*` has a strict limit per address, and login a limit per account that
  holds however many addresses the guesses come from (unknown emails alike).

Each test starts from an empty Redis database (number 4) that no other test uses, so the
order tests run in cannot cause a 429 here, nor these limits one elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis_asyncio
from journal_api import main, proxies
from journal_api import settings as settings_module

from tests.journal_api.conftest import BASE_URL, TEST_PASSWORD, register_and_login, unique_email
from tests.journal_api.processes import ApiProcess
from tests.support.redis import RedisServer

LIMITS_DB = 4
INGRESS = "10.0.0.7"  # the ingress controller's pod, inside the trusted range
TRUSTED = "10.0.0.0/8, fd00::/8"
ME = "/api/v1/users/me"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
async def limits_redis_url(redis_server: RedisServer) -> str:
    url = redis_server.url.rsplit("/", 1)[0] + f"/{LIMITS_DB}"
    client = redis_asyncio.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    return url


@asynccontextmanager
async def behind_proxy(
    settings: settings_module.Settings, peer: str = INGRESS
) -> AsyncIterator[httpx.AsyncClient]:
    app = main.create_app(settings)
    transport = httpx.ASGITransport(app=app, client=(peer, 43210))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
    ):
        yield client


def via(*hops: str) -> dict[str, str]:
    return {"X-Forwarded-For": ", ".join(hops)}


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("10.0.0.7", "203.0.113.9", "203.0.113.9"),
        # The client wrote the left-most entry itself: the right-most untrusted hop wins.
        ("10.0.0.7", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.7", "1.2.3.4, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        ("fd00::1", "2001:db8::5", "2001:db8::5"),
        ("10.0.0.7", "[2001:db8::5]:443, 198.51.100.2:8080", "198.51.100.2"),
        # Every hop is ours: the left-most one is the client.
        ("10.0.0.7", "10.9.9.9, 10.1.1.1", "10.9.9.9"),
        ("10.0.0.7", None, "10.0.0.7"),
        # Garbage where a trusted proxy's entry should be: the last vouched-for address.
        ("10.0.0.7", "203.0.113.9, not-an-address", "10.0.0.7"),
        # Not from a trusted proxy: the header is the client's own words, ignored.
        ("198.51.100.4", "1.2.3.4", "198.51.100.4"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(
    peer: str, header: str | None, client: str
) -> None:
    assert proxies.client_address(peer, header, proxies.parse(TRUSTED)) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert proxies.client_address("10.0.0.7", "1.2.3.4", ()) == "10.0.0.7"


async def test_a_client_cannot_choose_its_bucket_and_others_keep_theirs(
    api_settings: settings_module.Settings, limits_redis_url: str
) -> None:
    settings = api_settings.model_copy(
        update={"redis_url": limits_redis_url, "trusted_proxies": TRUSTED, "rate_limit_per_ip": 3}
    )
    async with behind_proxy(settings) as client:
        # One client at 203.0.113.9 writes a new left-most address every time...
        statuses = [
            (await client.get(ME, headers=via(f"192.0.2.{n}", "203.0.113.9"))).status_code
            for n in range(5)
        ]
        assert statuses == [401, 401, 401, 429, 429]
        # ...while another client behind the same ingress is not affected.
        other = await client.get(ME, headers=via("198.51.100.20"))
        assert other.status_code == 401


async def test_authenticated_requests_count_against_the_user_not_the_address(
    api_settings: settings_module.Settings, limits_redis_url: str
) -> None:
    settings = api_settings.model_copy(
        update={
            "redis_url": limits_redis_url,
            "trusted_proxies": TRUSTED,
            "rate_limit_per_ip": 3,
            "rate_limit_per_user": 5,
        }
    )
    async with behind_proxy(settings) as client:
        # Through a proxy that does not forward (every client shares its address).
        user = await register_and_login(client)  # 3 auth requests of the address
        statuses = [(await client.get(ME, headers=user.headers)).status_code for _ in range(6)]
        assert statuses == [200] * 4 + [429] * 2  # /users/me in register_and_login was 1st
        refused = await client.get(ME, headers=user.headers)
        assert "per user" in refused.json()["detail"]
        # The shared address spent only its 2 auth requests: anonymous ones still pass.
        assert (await client.get(ME)).status_code == 401


async def test_auth_routes_have_a_strict_limit_per_address(
    api_settings: settings_module.Settings, limits_redis_url: str
) -> None:
    settings = api_settings.model_copy(
        update={
            "redis_url": limits_redis_url,
            "trusted_proxies": TRUSTED,
            "rate_limit_auth_per_ip": 4,
        }
    )
    async with behind_proxy(settings) as client:
        guesses = [
            await client.post(
                LOGIN,
                json={"email": unique_email(), "password": "wrong password 1"},
                headers=via("203.0.113.50"),
            )
            for _ in range(5)
        ]
        assert [r.status_code for r in guesses] == [401] * 4 + [429]
        assert guesses[-1].json()["detail"].endswith("per address on /api/v1/auth)")
        assert int(guesses[-1].headers["retry-after"]) >= 1
        # Other routes from that address and auth routes from other addresses go on.
        assert (await client.get(ME, headers=via("203.0.113.50"))).status_code == 401
        other = await client.post(
            LOGIN,
            json={"email": unique_email(), "password": "wrong password 1"},
            headers=via("203.0.113.51"),
        )
        assert other.status_code == 401


@pytest.mark.parametrize("account", ["real", "unknown"])
async def test_login_has_a_limit_per_account_across_addresses(
    api_settings: settings_module.Settings, limits_redis_url: str, account: str
) -> None:
    settings = api_settings.model_copy(
        update={
            "redis_url": limits_redis_url,
            "trusted_proxies": TRUSTED,
            "rate_limit_auth_per_account": 3,
            "login_max_failures": 100,
        }
    )
    async with behind_proxy(settings) as client:
        if account == "real":
            email = unique_email()
            registered = await client.post(
                "/api/v1/auth/register", json={"email": email, "password": TEST_PASSWORD}
            )
            assert registered.status_code == 202
            budget = 2  # the registration counted for the account too
        else:
            email, budget = unique_email("ghost"), 3
        statuses = [
            (
                await client.post(
                    LOGIN,
                    json={"email": email, "password": "wrong password 1"},
                    headers=via(f"203.0.113.{60 + n}"),
                )
            ).status_code
            for n in range(budget + 1)
        ]
        assert statuses == [401] * budget + [429]
        refused = await client.post(
            LOGIN, json={"email": email, "password": "wrong password 1"}, headers=via("1.1.1.1")
        )
        assert refused.status_code == 429
        assert refused.json()["detail"].endswith("per account)")


async def test_a_served_process_does_not_believe_forwarded_for_from_anyone(
    api_settings: settings_module.Settings, limits_redis_url: str, services_dir: Path
) -> None:
    # The server itself (uvicorn) must not rewrite the client from the header either: with
    # no trusted proxies, addresses written by the client change nothing.
    process = ApiProcess(
        services_dir,
        database_url=api_settings.database_url,
        redis_url=limits_redis_url,
        env={"rate_limit_per_ip": "3"},
    )
    process.start()
    try:
        async with httpx.AsyncClient(base_url=process.url) as client:
            statuses = [
                (await client.get(ME, headers=via(f"192.0.2.{n}"))).status_code for n in range(4)
            ]
    finally:
        process.stop()
    assert statuses == [401, 401, 401, 429]
