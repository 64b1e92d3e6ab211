"""Password hashing (argon2id) and access tokens (JWT, HS256, `kid`-selected keys).

Called by `routes/auth.py`, `deps.py` and the rate limiter. Verification accepts only
HS256 (so `alg: none` and RS/HS confusion are rejected), takes the key named by the
token's `kid` header among the current and the previous key, and requires `sub`, `exp`,
`iat`, `jti`, `sid`, and our `iss` and `aud`, with `jwt_leeway_seconds` of clock skew.
`sid` names the login session (the refresh-token family) a token belongs to, so ending
that session ends its access tokens at once (`deps.get_current_user`). `iat` is the
database clock's time of issue, the clock the revocation cut-off is set with. Keys rotate
by moving the current key to JOURNAL_API_JWT_PREVIOUS_KEY.

Hashing runs in a thread under a per-app semaphore (`PasswordSlots`), so at most
`password_hash_concurrency` hashes run at once and none ever holds a database connection.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from journal_api import settings as settings_module

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "sid", "iss", "aud"]


@functools.cache
def _hasher(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    # Verified against when the email is unknown, so a failed login costs the same time
    # whether or not the account exists (no user enumeration through timing).
    dummy = hasher.hash("dummy password for timing equalisation")
    return hasher, dummy


def _hasher_for(settings: settings_module.Settings) -> tuple[PasswordHasher, str]:
    return _hasher(settings.password_hash_time_cost, settings.password_hash_memory_kib)


def hash_password(settings: settings_module.Settings, password: str) -> str:
    """An argon2id hash of ``password`` with the configured cost."""
    hasher, _ = _hasher_for(settings)
    return hasher.hash(password)


def verify_password(
    settings: settings_module.Settings, password: str, password_hash: str | None
) -> bool:
    """Check ``password``; with ``password_hash=None`` burn the same time and fail.

    The hash carries its own parameters, so hashes made with older costs still verify.
    """
    hasher, dummy = _hasher_for(settings)
    try:
        return hasher.verify(password_hash or dummy, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: settings_module.Settings, password_hash: str) -> bool:
    """Whether ``password_hash`` was made with other argon2 parameters than the configured."""
    hasher, _ = _hasher_for(settings)
    try:
        return hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


class PasswordSlots:
    """At most ``settings.password_hash_concurrency`` hashes at once, each in a thread.

    One per app (`app.state.password_slots`): argon2 takes a core and its memory cost per
    hash, so a burst of logins queues here instead of starving every other request of
    threads and memory. Callers must not hold a database connection while they wait.
    """

    def __init__(self, settings: settings_module.Settings) -> None:
        self._settings = settings
        self._semaphore = asyncio.Semaphore(settings.password_hash_concurrency)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        async with self._semaphore:
            return await asyncio.to_thread(verify_password, self._settings, password, password_hash)

    async def hash(self, password: str) -> str:
        async with self._semaphore:
            return await asyncio.to_thread(hash_password, self._settings, password)


class InvalidTokenError(Exception):
    """The token is malformed, expired, tampered, unsigned or signed by an unknown key."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    issued_at: float
    token_id: str
    session_id: uuid.UUID


def _keys(settings: settings_module.Settings) -> dict[str, str]:
    keys = {settings.jwt_kid: settings.jwt_key.get_secret_value()}
    if settings.jwt_previous_key is not None and settings.jwt_previous_kid is not None:
        keys[settings.jwt_previous_kid] = settings.jwt_previous_key.get_secret_value()
    return keys


def create_access_token(
    settings: settings_module.Settings,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    issued_at: float | None = None,  # the database clock; None (tests, tools): this host's
) -> str:
    """A signed access token for ``user_id`` in login session ``session_id``."""
    # iat keeps sub-second precision: a token issued in the same second as a
    # logout-all must still be distinguishable from one issued just after it.
    now = time.time() if issued_at is None else issued_at
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": int(now) + settings.access_token_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    key = settings.jwt_key.get_secret_value()
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": settings.jwt_kid})


def decode_access_token(settings: settings_module.Settings, token: str) -> AccessClaims:
    """Verify ``token`` and return its claims.

    Raises:
        InvalidTokenError: for any token that must not be honoured.
    """
    try:
        header = jwt.get_unverified_header(token)
        key = _keys(settings).get(str(header.get("kid")))
        if key is None or header.get("alg") != ALGORITHM:
            raise InvalidTokenError("unknown signing key")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=settings.jwt_leeway_seconds,
            options={"require": REQUIRED_CLAIMS},
        )
        if claims.get("typ") != "access":
            raise InvalidTokenError("not an access token")
        return AccessClaims(
            user_id=uuid.UUID(str(claims["sub"])),
            issued_at=float(claims["iat"]),
            token_id=str(claims["jti"]),
            session_id=uuid.UUID(str(claims["sid"])),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidTokenError(str(exc)) from exc


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the SHA-256 hex digest we store instead."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # A plain digest is enough: the token is 256 random bits, not a guessable password.
    return hashlib.sha256(token.encode()).hexdigest()
