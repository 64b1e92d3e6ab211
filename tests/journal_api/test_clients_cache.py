"""The shared Redis client: JSON round trips, per-user keys, counters, and Redis outages.

With Redis stopped every call answers like a miss (no exception), the API keeps serving
authenticated requests, and both recover by themselves once Redis is back on its port.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module

from tests.journal_api.conftest import MakeUser
from tests.support.redis import RedisServer


@pytest.fixture
async def cache(redis_server: RedisServer) -> cache_module.Cache:
    return cache_module.Cache(
        redis_server.url, metrics=metrics_module.Metrics(), timeout=0.5, retry_seconds=0.1
    )


def test_user_keys_are_namespaced_per_user() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert cache_module.user_key(first, "entries", 1) == f"journal:u:{first}:entries:1"
    assert cache_module.user_key(first, "entries") != cache_module.user_key(second, "entries")


async def test_json_round_trip_and_delete(cache: cache_module.Cache) -> None:
    key = cache_module.user_key(uuid.uuid4(), "probe")
    assert await cache.get_json(key) is None
    await cache.set_json(key, {"items": [1, 2], "at": uuid.UUID(int=1)}, ttl=60)
    assert await cache.get_json(key) == {"items": [1, 2], "at": str(uuid.UUID(int=1))}
    await cache.delete(key)
    assert await cache.get_json(key) is None
    await cache.close()


async def test_incr_counts_and_expires(cache: cache_module.Cache) -> None:
    key = cache_module.user_key(uuid.uuid4(), "version")
    assert await cache.incr(key, ttl=60) == 1
    assert await cache.incr(key, ttl=60) == 2
    assert await cache.get_int(key) == 2
    assert 0 < await cache.client.ttl(key) <= 60
    await cache.close()


async def test_outage_reads_as_misses_then_recovers(
    cache: cache_module.Cache, redis_server: RedisServer
) -> None:
    key = cache_module.user_key(uuid.uuid4(), "probe")
    await cache.set_json(key, "before", ttl=60)
    redis_server.stop()
    try:
        assert await cache.get_json(key) is None
        await cache.set_json(key, "during", ttl=60)  # silently skipped
        assert await cache.incr(key) is None
        assert not cache.available
    finally:
        redis_server.start()
    await asyncio.sleep(0.2)  # past the skip window
    await cache.set_json(key, "after", ttl=60)
    assert await cache.get_json(key) == "after"
    assert cache.available
    await cache.close()


async def test_api_serves_through_a_redis_outage_and_recovers(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI, redis_server: RedisServer
) -> None:
    user = await make_user()
    app_cache: cache_module.Cache = app.state.cache
    redis_server.stop()
    try:
        me = await client.get("/api/v1/users/me", headers=user.headers)
        assert me.status_code == 200
        other = await make_user()  # register + login: rate limiter falls back to memory
        assert (await client.get("/api/v1/users/me", headers=other.headers)).status_code == 200
        assert not app_cache.available
    finally:
        redis_server.start()
    await asyncio.sleep(0.3)
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 200
    key = cache_module.user_key(user.id, "probe")
    await app_cache.set_json(key, 1, ttl=60)
    assert await app_cache.get_json(key) == 1
    assert app_cache.available
