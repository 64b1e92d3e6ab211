"""`/api/v1/users/me`: read, update, change password, delete, and isolation between users.

A password change and an account deletion must end every session; a deletion removes
the account's data but keeps its audit trail. Both need the current password, whose wrong
guesses are audited and lock like failed logins.
"""

from __future__ import annotations

import httpx
from journal_api import settings as settings_module
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.journal_api.conftest import MakeUser, TestUser

ME = "/api/v1/users/me"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
NEW_PASSWORD = "an even better passphrase 8"


async def scalar(settings: settings_module.Settings, sql: str, **params: object) -> object:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def test_profile_shows_own_account_only(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    first, second = await make_user(), await make_user()
    assert (await client.get(ME, headers=first.headers)).json()["email"] == first.email
    assert (await client.get(ME, headers=second.headers)).json()["email"] == second.email


async def test_patch_updates_display_name_and_timezone(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.patch(
        ME, headers=user.headers, json={"display_name": "  Grace  ", "timezone": "Asia/Tokyo"}
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Grace"
    assert (await client.get(ME, headers=user.headers)).json()["timezone"] == "Asia/Tokyo"


async def test_patch_rejects_invalid_values_by_field(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.patch(
        ME, headers=user.headers, json={"display_name": "bad\u0000name", "timezone": "Nowhere/City"}
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"display_name", "timezone"}


async def test_password_change_needs_the_current_password(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    missing = await client.patch(ME, headers=user.headers, json={"new_password": NEW_PASSWORD})
    wrong = await client.patch(
        ME,
        headers=user.headers,
        json={"current_password": "not it at all 1", "new_password": NEW_PASSWORD},
    )
    assert missing.status_code == wrong.status_code == 403
    login = await client.post(LOGIN, json={"email": user.email, "password": user.password})
    assert login.status_code == 200


async def test_password_change_ends_every_session_and_is_audited(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    response = await client.patch(
        ME,
        headers=user.headers,
        json={"current_password": user.password, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert (await client.get(ME, headers=user.headers)).status_code == 401
    assert (
        await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    ).status_code == 401
    old = await client.post(LOGIN, json={"email": user.email, "password": user.password})
    new = await client.post(LOGIN, json={"email": user.email, "password": NEW_PASSWORD})
    assert (old.status_code, new.status_code) == (401, 200)
    count = await scalar(
        api_settings,
        "SELECT count(*) FROM audit_events WHERE event_type = 'password_change' AND user_id = :u",
        u=user.id,
    )
    assert count == 1


async def delete_me(
    client: httpx.AsyncClient, user: TestUser, password: str | None = None
) -> httpx.Response:
    body = {"current_password": user.password if password is None else password}
    return await client.request("DELETE", ME, headers=user.headers, json=body)


async def test_wrong_current_passwords_are_audited_and_lock_like_failed_logins(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    wrong = {"current_password": "not it at all 1", "new_password": NEW_PASSWORD}
    attempts = api_settings.login_max_failures
    statuses = [
        (await client.patch(ME, headers=user.headers, json=wrong)).status_code
        for _ in range(attempts)
    ]
    assert statuses == [403] * (attempts - 1) + [429]
    # Locked: even the right current password waits, and so does a login.
    right = {"current_password": user.password, "new_password": NEW_PASSWORD}
    locked = await client.patch(ME, headers=user.headers, json=right)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= api_settings.login_lockout_seconds
    login = await client.post(LOGIN, json={"email": user.email, "password": user.password})
    assert login.status_code == 429
    failed = await scalar(
        api_settings,
        "SELECT count(*) FROM audit_events "
        "WHERE event_type = 'password_check_failed' AND user_id = :u",
        u=user.id,
    )
    assert failed == attempts


async def test_delete_needs_the_current_password(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    missing = await client.delete(ME, headers=user.headers)
    assert missing.status_code == 422
    empty = await client.request("DELETE", ME, headers=user.headers, json={})
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in empty.json()["errors"]] == ["current_password"]
    wrong = await delete_me(client, user, "not it at all 1")
    assert wrong.status_code == 403
    assert wrong.json()["detail"] == "current_password is incorrect"
    # A stolen access token alone deletes nothing.
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    reason = await scalar(
        api_settings,
        "SELECT details->>'reason' FROM audit_events "
        "WHERE event_type = 'password_check_failed' AND user_id = :u",
        u=user.id,
    )
    assert reason == "account_deletion"


async def test_delete_removes_the_account_and_keeps_the_audit_trail(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user, bystander = await make_user(), await make_user()
    assert (await delete_me(client, user)).status_code == 204
    assert (await client.get(ME, headers=user.headers)).status_code == 401
    assert (
        await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    ).status_code == 401
    login = await client.post(LOGIN, json={"email": user.email, "password": user.password})
    assert login.status_code == 401
    tokens_left = await scalar(
        api_settings, "SELECT count(*) FROM refresh_tokens WHERE user_id = :u", u=user.id
    )
    assert tokens_left == 0
    events = await scalar(
        api_settings,
        "SELECT string_agg(event_type, ',' ORDER BY id) FROM audit_events WHERE subject = :s",
        s=str(user.id),
    )
    assert events == "registration,login_success,account_deleted"
    assert (await client.get(ME, headers=bystander.headers)).status_code == 200


async def test_registration_after_deletion_starts_a_new_account(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    assert (await delete_me(client, user)).status_code == 204
    again = await make_user(email=user.email)
    assert again.id != user.id
    assert (await client.get(ME, headers=user.headers)).status_code == 401
