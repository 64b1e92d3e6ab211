"""The admission round trip (`clients/gate.py`): a cached read costs one Redis call, and
every cached resource (single entries, search results, insights) stays correct: fresh
after a write, private per user, and never served for another time zone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.journal_api.conftest import MakeUser

ENTRIES = "/api/v1/entries"
SEARCH = "/api/v1/search"
INSIGHTS = "/api/v1/insights/writing"


def count_redis_calls(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every Redis call of the app goes through `Cache._call`: count them.

    A spy, not a fake: each call still goes to the real Redis server. Redis's own command
    counters cannot stand in, because they also count the commands a Lua script runs
    inside one round trip, and round trips are what this measures.
    """
    cache = app.state.cache
    original = cache._call
    calls = [0]

    async def counted(operation: Callable[[], Awaitable[Any]]) -> Any:
        calls[0] += 1
        return await original(operation)

    monkeypatch.setattr(cache, "_call", counted)
    return calls


@pytest.mark.parametrize("path", [ENTRIES, INSIGHTS, f"{SEARCH}?q=prefetch"])
async def test_cached_read_makes_one_redis_call(
    client: httpx.AsyncClient,
    app: FastAPI,
    make_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    user = await make_user()
    await client.post(ENTRIES, json={"content": "prefetch me"}, headers=user.headers)
    first = await client.get(path, headers=user.headers)
    calls = count_redis_calls(app, monkeypatch)
    second = await client.get(path, headers=user.headers)
    assert calls[0] == 1
    assert second.status_code == 200
    assert second.json() == first.json()


async def test_cached_entry_shows_an_update_on_the_next_read(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    entry = (await client.post(ENTRIES, json={"content": "before"}, headers=user.headers)).json()
    path = f"{ENTRIES}/{entry['id']}"
    assert (await client.get(path, headers=user.headers)).json()["content"] == "before"
    await client.patch(path, json={"content": "after"}, headers=user.headers)
    assert (await client.get(path, headers=user.headers)).json()["content"] == "after"
    await client.delete(path, headers=user.headers)
    assert (await client.get(path, headers=user.headers)).status_code == 404


async def test_cached_entry_is_still_404_for_another_user(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    owner, other = await make_user(), await make_user()
    entry = (await client.post(ENTRIES, json={"content": "mine"}, headers=owner.headers)).json()
    path = f"{ENTRIES}/{entry['id']}"
    await client.get(path, headers=owner.headers)
    await client.get(path, headers=owner.headers)
    assert (await client.get(path, headers=other.headers)).status_code == 404


async def test_cached_search_shows_a_new_entry_on_the_next_read(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await client.post(ENTRIES, json={"content": "walrus one"}, headers=user.headers)
    params = {"q": "walrus"}
    assert len((await client.get(SEARCH, params=params, headers=user.headers)).json()["items"]) == 1
    await client.post(ENTRIES, json={"content": "walrus two"}, headers=user.headers)
    assert len((await client.get(SEARCH, params=params, headers=user.headers)).json()["items"]) == 2


async def test_cached_insights_follow_a_time_zone_change(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(timezone="UTC")
    await client.post(ENTRIES, json={"content": "zone"}, headers=user.headers)
    assert (await client.get(INSIGHTS, headers=user.headers)).json()["timezone"] == "UTC"
    await client.patch("/api/v1/users/me", json={"timezone": "Asia/Tokyo"}, headers=user.headers)
    assert (await client.get(INSIGHTS, headers=user.headers)).json()["timezone"] == "Asia/Tokyo"


async def test_revoked_token_gets_no_cached_body(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await client.post(ENTRIES, json={"content": "secret"}, headers=user.headers)
    assert (await client.get(ENTRIES, headers=user.headers)).status_code == 200
    await client.post("/api/v1/auth/logout-all", headers=user.headers)
    assert (await client.get(ENTRIES, headers=user.headers)).status_code == 401
