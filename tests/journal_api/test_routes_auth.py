"""Auth flows over HTTP: registration, login (JSON and form), refresh rotation and reuse,
logout, logout-all, and the failed-login slowdown and lockout.

Every case asserts what a client relies on: status, problem body, and whether the
tokens it holds still work afterwards; security events are checked in the audit table.
"""

from __future__ import annotations

import uuid

import httpx
from journal_api import settings as settings_module
from journal_api.routes.auth import REFRESH_REUSED
from journal_api.schemas.auth import REGISTRATION_ACCEPTED
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.journal_api.conftest import TEST_PASSWORD, MakeUser, unique_email

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
ME = "/api/v1/users/me"
PROBLEM = "application/problem+json"


async def audit_events(settings: settings_module.Settings, subject: str) -> list[str]:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT event_type FROM audit_events WHERE subject = :s ORDER BY id"),
                {"s": subject},
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def test_register_accepts_and_the_new_account_logs_in(client: httpx.AsyncClient) -> None:
    email = unique_email("Ada").replace("Ada", "ADA")
    response = await client.post(
        REGISTER,
        json={
            "email": email,
            "password": TEST_PASSWORD,
            "display_name": "Ada",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 202
    assert response.json() == {"email": email.lower(), "detail": REGISTRATION_ACCEPTED}
    login = await client.post(LOGIN, json={"email": email, "password": TEST_PASSWORD})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    body = (await client.get(ME, headers=headers)).json()
    assert body["email"] == email.lower()
    assert body["timezone"] == "Europe/Berlin"
    assert body["display_name"] == "Ada"
    assert set(body) == {"id", "email", "display_name", "timezone", "created_at"}


async def test_register_answers_an_existing_email_exactly_like_a_new_one(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    # Otherwise registration would tell anyone which emails have accounts.
    user = await make_user()
    other_password = "another password 42"
    new_email = unique_email()
    existing = await client.post(
        REGISTER, json={"email": user.email.upper(), "password": other_password}
    )
    fresh = await client.post(REGISTER, json={"email": new_email, "password": other_password})
    assert existing.status_code == fresh.status_code == 202
    assert existing.headers["content-type"] == fresh.headers["content-type"]
    assert set(existing.json()) == set(fresh.json())
    assert existing.json()["detail"] == fresh.json()["detail"]
    # The existing account is untouched: its password still opens it, the new one does not.
    assert (
        await client.post(LOGIN, json={"email": user.email, "password": other_password})
    ).status_code == 401
    assert (
        await client.post(LOGIN, json={"email": user.email, "password": user.password})
    ).status_code == 200
    # Its owner learns of the attempt through the account's own audit trail.
    assert "registration_existing" in await audit_events(api_settings, str(user.id))


async def test_register_unknown_timezone_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER,
        json={"email": unique_email(), "password": TEST_PASSWORD, "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["timezone"]


async def test_register_is_audited(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    assert await audit_events(api_settings, str(user.id)) == ["registration", "login_success"]


async def test_login_with_oauth2_form_returns_a_bearer_pair(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.post(LOGIN, data={"username": user.email, "password": user.password})
    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    me = await client.get(ME, headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["id"] == str(user.id)


async def test_login_failure_does_not_reveal_whether_the_email_exists(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    wrong_password = await client.post(LOGIN, json={"email": user.email, "password": "nope nope 1"})
    unknown_email = await client.post(
        LOGIN, json={"email": unique_email(), "password": "nope nope 1"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["detail"] == unknown_email.json()["detail"]
    assert wrong_password.headers["www-authenticate"] == "Bearer"


async def test_refresh_rotates_and_the_new_pair_works(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != user.refresh_token
    me = await client.get(ME, headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    again = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 200


# A replay comes from another client than the one that used the token (same-client
# retries within seconds get a grace window: test_routes_auth_sessions.py).
ATTACKER = {"User-Agent": "attacker-replay/1.0"}


async def test_refresh_reuse_revokes_the_whole_family(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    rotated = (await client.post(REFRESH, json={"refresh_token": user.refresh_token})).json()
    rotated_headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert (await client.get(ME, headers=rotated_headers)).status_code == 200
    # An attacker replays the first (already used) token...
    replay = await client.post(
        REFRESH, json={"refresh_token": user.refresh_token}, headers=ATTACKER
    )
    # ...and gets no tokens, only the problem saying why.
    assert replay.status_code == 401
    assert replay.headers["content-type"] == PROBLEM
    assert replay.headers["www-authenticate"] == "Bearer"
    assert replay.json()["detail"] == REFRESH_REUSED
    assert "access_token" not in replay.text
    assert "refresh_token" not in replay.text
    # ...so the legitimate holder's newer token of the same family stops working too,
    legit = await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
    assert legit.status_code == 401
    # and so does the family's access token, at once rather than when it expires.
    assert (await client.get(ME, headers=rotated_headers)).status_code == 401
    assert (await client.get(ME, headers=user.headers)).status_code == 401
    assert "token_reuse_detected" in await audit_events(api_settings, str(user.id))


async def test_refresh_reuse_leaves_other_logins_alone(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    other = (await client.post(LOGIN, json={"email": user.email, "password": user.password})).json()
    await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    replay = await client.post(
        REFRESH, json={"refresh_token": user.refresh_token}, headers=ATTACKER
    )
    assert replay.status_code == 401
    response = await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})
    assert response.status_code == 200
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await client.get(ME, headers=other_headers)).status_code == 200


async def test_refresh_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(REFRESH, json={"refresh_token": uuid.uuid4().hex})
    assert response.status_code == 401


async def test_logout_ends_that_session_only(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    other = (await client.post(LOGIN, json={"email": user.email, "password": user.password})).json()
    assert (
        await client.post(LOGOUT, json={"refresh_token": user.refresh_token})
    ).status_code == 204
    assert (
        await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    ).status_code == 401
    # The session's access token ends with it; the other session's lives on.
    assert (await client.get(ME, headers=user.headers)).status_code == 401
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await client.get(ME, headers=other_headers)).status_code == 200
    assert (
        await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})
    ).status_code == 200


async def test_logout_all_revokes_every_token(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    other = (await client.post(LOGIN, json={"email": user.email, "password": user.password})).json()
    assert (await client.post(LOGOUT_ALL, headers=user.headers)).status_code == 204
    assert (await client.get(ME, headers=user.headers)).status_code == 401
    for refresh_token in (user.refresh_token, other["refresh_token"]):
        assert (
            await client.post(REFRESH, json={"refresh_token": refresh_token})
        ).status_code == 401
    # Logging in again afterwards works normally.
    fresh = (await client.post(LOGIN, json={"email": user.email, "password": user.password})).json()
    me = await client.get(ME, headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert me.status_code == 200


async def test_repeated_failures_lock_the_account(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    bad = {"email": user.email, "password": "wrong password 1"}
    statuses = [
        (await client.post(LOGIN, json=bad)).status_code
        for _ in range(api_settings.login_max_failures)
    ]
    assert statuses == [401] * (api_settings.login_max_failures - 1) + [429]
    locked = await client.post(LOGIN, json={"email": user.email, "password": user.password})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= api_settings.login_lockout_seconds
    assert locked.headers["content-type"] == PROBLEM
    events = await audit_events(api_settings, str(user.id))
    assert events.count("login_failure") == api_settings.login_max_failures
    assert "account_locked" in events


async def test_a_success_resets_the_failure_count(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    bad = {"email": user.email, "password": "wrong password 1"}
    good = {"email": user.email, "password": user.password}
    for _ in range(api_settings.login_max_failures - 1):
        await client.post(LOGIN, json=bad)
    assert (await client.post(LOGIN, json=good)).status_code == 200
    assert (await client.post(LOGIN, json=bad)).status_code == 401


async def test_unknown_email_locks_like_a_real_account(
    client: httpx.AsyncClient, api_settings: settings_module.Settings
) -> None:
    # Otherwise the lock itself would reveal which emails have accounts.
    bad = {"email": unique_email("ghost"), "password": "wrong password 1"}
    attempts = api_settings.login_max_failures
    statuses = [(await client.post(LOGIN, json=bad)).status_code for _ in range(attempts)]
    assert statuses == [401] * (attempts - 1) + [429]
    again = await client.post(LOGIN, json=bad)
    assert again.status_code == 429
    assert again.headers["retry-after"]


async def test_passwords_are_stored_as_argon2id_hashes(
    make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    engine = create_async_engine(api_settings.database_url)
    try:
        async with engine.connect() as connection:
            stored = (
                await connection.execute(
                    text("SELECT password_hash FROM users WHERE id = :id"), {"id": user.id}
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert stored.startswith("$argon2id$")
    assert user.password not in stored


async def test_login_form_errors_name_the_form_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, data={"password": "whatever 123"})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["username"]


async def test_login_with_another_media_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, content=b"email", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
