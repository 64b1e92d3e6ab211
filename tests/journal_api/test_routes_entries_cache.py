"""The per-user read-through cache of entry lists and insights: used, invalidated by
every write (the next read shows it), private per user, and optional (Redis down)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from journal_api import main
from journal_api import settings as settings_module

from tests.journal_api.conftest import BASE_URL, MakeUser, make_settings, register_and_login
from tests.support import ports
from tests.support.redis import RedisServer

ENTRIES = "/api/v1/entries"


def cache_hits(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("journal_api_cache_hits_total "):
            return float(line.split()[1])
    raise AssertionError("no cache hit counter")


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


async def test_second_read_is_served_from_redis(
    client: httpx.AsyncClient, make_user: MakeUser, redis_client: aioredis.Redis
) -> None:
    user = await make_user()
    await client.post(ENTRIES, json={"content": "cached"}, headers=user.headers)
    before = cache_hits((await client.get("/metrics")).text)
    first = await client.get(ENTRIES, headers=user.headers)
    second = await client.get(ENTRIES, headers=user.headers)
    assert first.json() == second.json()
    assert cache_hits((await client.get("/metrics")).text) == before + 1
    keys = [key.decode() async for key in redis_client.scan_iter(f"journal:u:{user.id}:entries:*")]
    assert len(keys) == 1


async def test_list_shows_an_update_on_the_next_read(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    entry = (await client.post(ENTRIES, json={"content": "before"}, headers=user.headers)).json()
    assert (await client.get(ENTRIES, headers=user.headers)).json()["items"][0][
        "content"
    ] == "before"
    await client.patch(f"{ENTRIES}/{entry['id']}", json={"content": "after"}, headers=user.headers)
    assert (await client.get(ENTRIES, headers=user.headers)).json()["items"][0][
        "content"
    ] == "after"

    await client.post(
        ENTRIES, json={"content": "second", "entry_date": "2999-01-01"}, headers=user.headers
    )
    assert len((await client.get(ENTRIES, headers=user.headers)).json()["items"]) == 2
    await client.delete(f"{ENTRIES}/{entry['id']}", headers=user.headers)
    assert [
        e["content"] for e in (await client.get(ENTRIES, headers=user.headers)).json()["items"]
    ] == ["second"]


async def test_topic_deletion_refreshes_a_cached_topic_filter(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    topic = (await client.post("/api/v1/topics", json={"name": "T"}, headers=user.headers)).json()
    await client.post(ENTRIES, json={"content": "x", "topic_id": topic["id"]}, headers=user.headers)
    params = {"topic_id": topic["id"]}
    assert (
        len((await client.get(ENTRIES, params=params, headers=user.headers)).json()["items"]) == 1
    )
    await client.delete(f"/api/v1/topics/{topic['id']}", headers=user.headers)
    assert (await client.get(ENTRIES, params=params, headers=user.headers)).json()["items"] == []


async def test_insights_show_a_new_entry_on_the_next_read(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await client.post(ENTRIES, json={"content": "one two"}, headers=user.headers)
    first = (await client.get("/api/v1/insights/writing", headers=user.headers)).json()
    await client.post(ENTRIES, json={"content": "three"}, headers=user.headers)
    second = (await client.get("/api/v1/insights/writing", headers=user.headers)).json()
    assert (first["entries"], first["words"]) == (1, 2)
    assert (second["entries"], second["words"]) == (2, 3)


async def test_one_users_write_does_not_serve_another_users_cache(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    first, second = await make_user(), await make_user()
    await client.post(ENTRIES, json={"content": "mine"}, headers=first.headers)
    await client.get(ENTRIES, headers=first.headers)
    assert (await client.get(ENTRIES, headers=second.headers)).json()["items"] == []


async def test_api_serves_lists_while_redis_is_unreachable(
    api_settings: settings_module.Settings,
) -> None:
    # Same database, but a Redis URL where nothing listens.
    settings = make_settings(api_settings.database_url, f"redis://127.0.0.1:{ports.free_port()}/0")
    app = main.create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        user = await register_and_login(client)
        entry = await client.post(ENTRIES, json={"content": "no redis"}, headers=user.headers)
        assert entry.status_code == 201
        for content in ("no redis", "still fine"):
            listed = await client.get(ENTRIES, headers=user.headers)
            assert listed.status_code == 200
            assert listed.json()["items"][0]["content"] == content
            await client.patch(
                f"{ENTRIES}/{entry.json()['id']}",
                json={"content": "still fine"},
                headers=user.headers,
            )
        insights = await client.get("/api/v1/insights/writing", headers=user.headers)
        assert insights.json()["entries"] == 1
