"""Deleting an account purges what Redis holds of it: cached entry lists and entries,
search results and insights, its cache generation and auth state; other users' cached
bodies stay. A body computed just before the purge is not stored after it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module
from journal_api.services import user_cache

from tests.journal_api.conftest import MakeUser, TestUser
from tests.journal_api.test_routes_users import delete_me
from tests.support.redis import RedisServer

# Reads the API caches per user: lists, single entries, search results, insights.
CACHED_READS = [
    "/api/v1/entries",
    "/api/v1/entries?limit=5",
    "/api/v1/search?q=lighthouse",
    "/api/v1/insights/writing",
    "/api/v1/insights/emotions",
]


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


async def keys_of(redis_client: aioredis.Redis, user_id: uuid.UUID) -> list[bytes]:
    return [key async for key in redis_client.scan_iter(match=f"journal:u:{user_id}:*")]


async def fill_cache(client: httpx.AsyncClient, user: TestUser) -> None:
    created = await client.post(
        "/api/v1/entries",
        json={"content": "Walked to the lighthouse and back."},
        headers=user.headers,
    )
    assert created.status_code == 201
    for path in [*CACHED_READS, f"/api/v1/entries/{created.json()['id']}"]:
        response = await client.get(path, headers=user.headers)
        assert response.status_code == 200, (path, response.text)


async def test_deleting_an_account_purges_its_cached_bodies(
    client: httpx.AsyncClient, make_user: MakeUser, redis_client: aioredis.Redis
) -> None:
    user, other = await make_user(), await make_user()
    await fill_cache(client, user)
    await fill_cache(client, other)
    cached = await keys_of(redis_client, user.id)
    # Every read above left a body (plus the generation and the auth state).
    assert len(cached) >= len(CACHED_READS) + 3, cached
    others_before = set(await keys_of(redis_client, other.id))

    assert (await delete_me(client, user)).status_code == 204

    assert await keys_of(redis_client, user.id) == []
    assert others_before <= set(await keys_of(redis_client, other.id))
    assert (await client.get("/api/v1/entries", headers=user.headers)).status_code == 401
    assert (await client.get("/api/v1/entries", headers=other.headers)).status_code == 200


async def test_a_body_computed_before_the_purge_is_not_stored_after_it(
    app: FastAPI, client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    cache: cache_module.Cache = app.state.cache
    user_id = uuid.uuid4()
    lookup = await user_cache.lookup(
        cache,
        metrics_module.Metrics(),
        user_id=user_id,
        resource="/api/v1/entries?",
        prefetch=None,
    )
    assert lookup.body is None
    assert lookup.store_key is not None
    await user_cache.purge(cache, user_id=user_id)
    await user_cache.store(cache, lookup, body=b'{"items": []}', ttl=60)
    assert await keys_of(redis_client, user_id) == []
