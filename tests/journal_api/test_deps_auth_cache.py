"""The per-user auth-state cache behind `CurrentUser`: a request fills it, and every change
to the state (account deletion, logout-all, password change, profile update) takes
effect on the very next request, even for a token whose state was cached. A reader that
raced an invalidation cannot write the old state back."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from journal_api.clients import auth_cache
from journal_api.clients import cache as cache_module

from tests.journal_api.conftest import TEST_PASSWORD, MakeUser, TestUser

ME = "/api/v1/users/me"
STATE = b'{"stale": true}'


async def cached_state(app: FastAPI, user: TestUser) -> bytes | None:
    cache: cache_module.Cache = app.state.cache
    return (await auth_cache.read(cache, user_id=user.id)).state


async def warm(app: FastAPI, client: httpx.AsyncClient, user: TestUser) -> None:
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    assert await cached_state(app, user) is not None


async def test_a_deleted_users_cached_token_is_refused_at_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await warm(app, client, user)
    deleted = await client.request(
        "DELETE", ME, headers=user.headers, json={"current_password": user.password}
    )
    assert deleted.status_code == 204

    response = await client.get("/api/v1/entries", headers=user.headers)
    assert response.status_code == 401
    assert await cached_state(app, user) is None


async def test_logout_all_refuses_a_cached_token_at_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await warm(app, client, user)
    response = await client.post("/api/v1/auth/logout-all", headers=user.headers)
    assert response.status_code == 204
    assert (await client.get(ME, headers=user.headers)).status_code == 401


async def test_a_password_change_refuses_a_cached_token_at_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await warm(app, client, user)
    response = await client.patch(
        ME,
        json={"current_password": TEST_PASSWORD, "new_password": "another fine password 8"},
        headers=user.headers,
    )
    assert response.status_code == 200
    assert (await client.get(ME, headers=user.headers)).status_code == 401


async def test_a_profile_update_is_visible_on_the_next_request(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await warm(app, client, user)
    response = await client.patch(ME, json={"timezone": "Asia/Tokyo"}, headers=user.headers)
    assert response.status_code == 200
    assert (await client.get(ME, headers=user.headers)).json()["timezone"] == "Asia/Tokyo"


@pytest.mark.usefixtures("client")
async def test_a_fill_that_raced_an_invalidation_is_dropped(app: FastAPI) -> None:
    cache: cache_module.Cache = app.state.cache
    user_id = uuid.uuid4()
    before = await auth_cache.read(cache, user_id=user_id)
    assert before.state is None
    assert before.generation is not None

    await auth_cache.invalidate(cache, user_id=user_id)  # the write commits meanwhile
    await auth_cache.fill(cache, user_id=user_id, generation=before.generation, state=STATE, ttl=60)
    assert (await auth_cache.read(cache, user_id=user_id)).state is None

    after = await auth_cache.read(cache, user_id=user_id)
    assert after.generation is not None
    await auth_cache.fill(cache, user_id=user_id, generation=after.generation, state=STATE, ttl=60)
    assert (await auth_cache.read(cache, user_id=user_id)).state == STATE
