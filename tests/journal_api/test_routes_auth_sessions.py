"""Login sessions end completely and at once: races, retries, expiry.

- A revocation (logout-all, password change, refresh-token reuse) racing a refresh in
  flight also revokes the token that refresh issues: the test holds the refreshed token's
  row so that the refresh is mid-transaction when the revocation arrives.
- A second refresh of one token by the same client within the grace window gets a pair
  of the same session; after the window the same replay revokes the session.
- An expired refresh token is refused by `/auth/refresh` for its expiry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import jwt
import pytest
from journal_api import security
from journal_api import settings as settings_module
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.journal_api.conftest import MakeUser, TestUser
from tests.journal_api.test_security_tokens import serving

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT_ALL = "/api/v1/auth/logout-all"
ME = "/api/v1/users/me"
NEW_PASSWORD = "an even better passphrase 8"
WAIT_SECONDS = 10


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def waiting_on_locks(connection: AsyncConnection, database: str) -> int:
    result = await connection.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
        ),
        {"db": database},
    )
    count = int(result.scalar_one())
    # Statistics views are a snapshot per transaction: end it to see the next change.
    await connection.rollback()
    return count


async def until_waiting(connection: AsyncConnection, database: str, count: int) -> None:
    """Poll until ``count`` backends of ``database`` wait on a lock (no event exists)."""
    for _ in range(WAIT_SECONDS * 50):
        if await waiting_on_locks(connection, database) >= count:
            return
        await asyncio.sleep(0.02)
    rows = await connection.execute(
        text("SELECT state, wait_event, left(query, 80) FROM pg_stat_activity WHERE datname = :d"),
        {"d": database},
    )
    raise AssertionError(f"fewer than {count} waiting: {rows.all()}")


Revoke = Callable[
    [httpx.AsyncClient, TestUser, dict[str, str]], Coroutine[Any, Any, httpx.Response]
]


async def _logout_all(
    client: httpx.AsyncClient, user: TestUser, rotated: dict[str, str]
) -> httpx.Response:
    return await client.post(LOGOUT_ALL, headers=user.headers)


async def _change_password(
    client: httpx.AsyncClient, user: TestUser, rotated: dict[str, str]
) -> httpx.Response:
    body = {"current_password": user.password, "new_password": NEW_PASSWORD}
    return await client.patch(ME, headers=user.headers, json=body)


async def _replay(
    client: httpx.AsyncClient, user: TestUser, rotated: dict[str, str]
) -> httpx.Response:
    # Another client presents the login's first, already used, refresh token.
    return await client.post(
        REFRESH, json={"refresh_token": user.refresh_token}, headers={"User-Agent": "thief/1"}
    )


@pytest.mark.parametrize(
    ("revoke", "answers"),
    [(_logout_all, {204}), (_change_password, {200}), (_replay, {401})],
    ids=["logout-all", "password-change", "reuse-detection"],
)
async def test_a_revocation_racing_a_refresh_revokes_the_token_it_issues(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    api_settings: settings_module.Settings,
    revoke: Revoke,
    answers: set[int],
) -> None:
    user = await make_user()
    # One rotation first, so the login's first token is a used one (for the replay case).
    rotated = (await client.post(REFRESH, json={"refresh_token": user.refresh_token})).json()
    token_hash = security.hash_refresh_token(rotated["refresh_token"])
    database = api_settings.database_url.rsplit("/", 1)[1]
    engine = create_async_engine(api_settings.database_url)
    try:
        async with engine.connect() as holder, engine.connect() as observer:
            # Hold the row the refresh must lock: it stops mid-transaction...
            await holder.execute(
                text("SELECT 1 FROM refresh_tokens WHERE token_hash = :h FOR UPDATE"),
                {"h": token_hash},
            )
            refreshing = asyncio.create_task(
                client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
            )
            await until_waiting(observer, database, 1)
            # ...the revocation arrives while it is in flight...
            revoking = asyncio.create_task(revoke(client, user, rotated))
            await until_waiting(observer, database, 2)
            await holder.rollback()  # ...and then the refresh goes on.
            refreshed, revoked = await refreshing, await revoking
    finally:
        await engine.dispose()
    assert revoked.status_code in answers, revoked.text
    # The refresh was first in line, so it succeeded; what it issued must already be dead.
    assert refreshed.status_code == 200, refreshed.text
    pair = refreshed.json()
    again = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401
    assert (await client.get(ME, headers=bearer(pair["access_token"]))).status_code == 401


async def test_a_retry_by_the_same_client_within_the_grace_window_gets_a_pair(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    first = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    retry = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    assert first.status_code == retry.status_code == 200
    # Both answers stay usable: the session was not ended.
    for pair in (first.json(), retry.json()):
        assert (await client.get(ME, headers=bearer(pair["access_token"]))).status_code == 200
        refreshed = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 200


async def test_two_simultaneous_refreshes_by_one_client_both_get_a_pair(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    # Two tabs refreshing at once: the second waits for the first's row lock, then finds
    # the token used moments ago by the same client.
    user = await make_user()
    answers = await asyncio.gather(
        *(client.post(REFRESH, json={"refresh_token": user.refresh_token}) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [200, 200]
    for pair in (a.json() for a in answers):
        assert (await client.get(ME, headers=bearer(pair["access_token"]))).status_code == 200


async def test_the_same_replay_after_the_grace_window_revokes_the_session(
    make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    settings = api_settings.model_copy(update={"refresh_reuse_grace_seconds": 1})
    async with serving(settings) as client:
        first = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
        assert first.status_code == 200
        await asyncio.sleep(1.5)
        late = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
        assert late.status_code == 401
        assert "revoked" in late.json()["detail"]
        rotated = first.json()
        refused = await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
        assert refused.status_code == 401
        assert (await client.get(ME, headers=bearer(rotated["access_token"]))).status_code == 401


async def test_an_expired_refresh_token_is_refused_for_its_expiry(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    other = (await client.post(LOGIN, json={"email": user.email, "password": user.password})).json()
    engine = create_async_engine(api_settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' "
                    "WHERE token_hash = :h"
                ),
                {"h": security.hash_refresh_token(user.refresh_token)},
            )
    finally:
        await engine.dispose()
    expired = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    assert expired.status_code == 401
    assert expired.json()["detail"] == "refresh token expired or revoked"
    # Nothing else about the account is wrong: an unexpired token of it still refreshes.
    fresh = await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})
    assert fresh.status_code == 200


async def test_access_tokens_are_issued_on_the_database_clock(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    # `iat` is the instant PostgreSQL stored the pair's refresh token: the clock the
    # revocation cut-off is also taken from, whatever this replica's clock says.
    user = await make_user()
    pair = (await client.post(REFRESH, json={"refresh_token": user.refresh_token})).json()
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    engine = create_async_engine(api_settings.database_url)
    try:
        async with engine.connect() as connection:
            stored = await connection.execute(
                text("SELECT created_at FROM refresh_tokens WHERE token_hash = :h"),
                {"h": security.hash_refresh_token(pair["refresh_token"])},
            )
            created_at = stored.scalar_one()
    finally:
        await engine.dispose()
    assert claims["iat"] == pytest.approx(created_at.timestamp(), abs=1e-6)
