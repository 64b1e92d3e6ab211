"""Access-token verification as a client sees it: which tokens open `/users/me`.

Covers expired, tampered, unsigned (`alg: none`), algorithm-confused and unknown-`kid`
tokens, other issuers and audiences, the clock-skew leeway, and key rotation: a token
signed with the previous key keeps working after a rotation, and one signed with a
retired key does not. Each hand-made token differs from an accepted one (`claims_for`,
checked by `test_a_hand_made_token_with_every_claim_is_accepted`) in exactly the aspect
under test, so it is refused for that reason and no other.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
import pytest
from journal_api import main, security
from journal_api import settings as settings_module
from pydantic import SecretStr

from tests.journal_api.conftest import BASE_URL, TEST_JWT_KEY, TEST_JWT_KID, MakeUser

ME = "/api/v1/users/me"
NEW_KEY = "rotated-signing-key-fedcba9876543210fedcba9876543210"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@asynccontextmanager
async def serving(settings: settings_module.Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = main.create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


async def assert_rejected(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_missing_token_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def claims_for(user_id: uuid.UUID, **changes: object) -> dict[str, object]:
    """Claims of a valid access token of ``user_id``, with ``changes``."""
    now = time.time()
    claims: dict[str, object] = {
        "sub": str(user_id),
        "sid": str(uuid.uuid4()),
        "iss": "journal-api",
        "aud": "journal-api",
        "iat": now,
        "exp": int(now) + 600,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    claims.update(changes)
    return claims


def sign(claims: dict[str, object], *, kid: str = TEST_JWT_KID) -> str:
    return jwt.encode(claims, TEST_JWT_KEY, algorithm="HS256", headers={"kid": kid})


async def test_a_hand_made_token_with_every_claim_is_accepted(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.get(ME, headers=bearer(sign(claims_for(user.id))))
    assert response.status_code == 200


async def test_expired_token_is_rejected_for_its_expiry(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    # Issued now (after the account's token cut-off), expired just beyond the leeway: the
    # expiry alone can refuse it. Within the leeway the same token still works.
    now = time.time()
    leeway = api_settings.jwt_leeway_seconds
    expired = claims_for(user.id, iat=now, exp=int(now) - leeway - 2)
    await assert_rejected(client, sign(expired))
    within = claims_for(user.id, iat=now, exp=int(now) - leeway + 3)
    assert (await client.get(ME, headers=bearer(sign(within)))).status_code == 200


@pytest.mark.parametrize(("claim", "value"), [("iss", "someone-else"), ("aud", "another-api")])
async def test_other_issuer_or_audience_is_rejected(
    client: httpx.AsyncClient, make_user: MakeUser, claim: str, value: str
) -> None:
    user = await make_user()
    await assert_rejected(client, sign(claims_for(user.id, **{claim: value})))


@pytest.mark.parametrize("claim", ["sid", "iss", "aud", "iat", "exp", "jti", "sub"])
async def test_a_missing_claim_is_rejected(
    client: httpx.AsyncClient, make_user: MakeUser, claim: str
) -> None:
    user = await make_user()
    claims = claims_for(user.id)
    del claims[claim]
    await assert_rejected(client, sign(claims))


async def test_issued_in_the_future_is_tolerated_only_within_the_leeway(
    client: httpx.AsyncClient, make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    # Another replica's clock may run a little ahead of ours.
    user = await make_user()
    leeway = api_settings.jwt_leeway_seconds
    ahead = claims_for(user.id, iat=time.time() + leeway - 3)
    assert (await client.get(ME, headers=bearer(sign(ahead)))).status_code == 200
    await assert_rejected(client, sign(claims_for(user.id, iat=time.time() + leeway + 30)))


async def test_tampered_token_is_rejected(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    victim, attacker = await make_user(), await make_user()
    header, payload, signature = attacker.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(victim.id)
    await assert_rejected(client, f"{header}.{_b64(claims)}.{signature}")


async def test_unsigned_alg_none_token_is_rejected(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    claims = claims_for(user.id)
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': TEST_JWT_KID})}.{_b64(claims)}."
    await assert_rejected(client, token)


async def test_other_algorithm_with_the_same_key_is_rejected(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    claims = claims_for(user.id)
    with warnings.catch_warnings():  # pyjwt warns that our key is short for HS512
        warnings.simplefilter("ignore")
        token = jwt.encode(claims, TEST_JWT_KEY, algorithm="HS512", headers={"kid": TEST_JWT_KID})
    await assert_rejected(client, token)


async def test_unknown_kid_is_rejected(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user()
    claims = claims_for(user.id)
    await assert_rejected(client, sign(claims, kid="someone-else"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer", "x" * 5000])
async def test_garbage_tokens_are_401_not_500(client: httpx.AsyncClient, garbage: str) -> None:
    response = await client.get(ME, headers={"Authorization": f"Bearer {garbage}"})
    assert response.status_code == 401


async def test_previous_key_still_verifies_after_rotation(
    make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()  # signed with the current test key
    rotated = api_settings.model_copy(
        update={
            "jwt_key": SecretStr(NEW_KEY),
            "jwt_kid": "test-k2",
            "jwt_previous_key": SecretStr(TEST_JWT_KEY),
            "jwt_previous_kid": TEST_JWT_KID,
        }
    )
    async with serving(rotated) as client:
        assert (await client.get(ME, headers=user.headers)).status_code == 200
        login = await client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": user.password}
        )
        new_token = login.json()["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] == "test-k2"
        assert (await client.get(ME, headers=bearer(new_token))).status_code == 200


async def test_retired_key_is_rejected(
    make_user: MakeUser, api_settings: settings_module.Settings
) -> None:
    user = await make_user()
    retired = api_settings.model_copy(update={"jwt_key": SecretStr(NEW_KEY), "jwt_kid": "test-k2"})
    async with serving(retired) as client:
        await assert_rejected(client, user.access_token)


def test_tokens_carry_the_required_claims(api_settings: settings_module.Settings) -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    token = security.create_access_token(api_settings, user_id=user_id, session_id=session_id)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, TEST_JWT_KEY, algorithms=["HS256"], audience="journal-api")
    assert header["alg"] == "HS256"
    assert header["kid"] == TEST_JWT_KID
    assert {"sub", "exp", "iat", "jti", "sid", "iss", "aud"} <= set(claims)
    assert claims["sub"] == str(user_id)
    assert claims["sid"] == str(session_id)
    assert claims["iss"] == claims["aud"] == "journal-api"
    assert claims["exp"] - claims["iat"] <= api_settings.access_token_ttl_seconds
