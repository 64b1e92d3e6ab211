"""`Annotated` dependency aliases, so route signatures read like prose.

    async def read_me(user: CurrentUser, session: SessionDep) -> UserPublic: ...

Everything here comes from `app.state`, filled in by `main.create_app`'s lifespan.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api import errors, ratelimit, security
from journal_api import metrics as metrics_module
from journal_api import settings as settings_module
from journal_api.clients import auth_cache, gate
from journal_api.clients import cache as cache_module
from journal_api.clients import inference as inference_module
from journal_api.repositories import users as users_repo
from journal_api.schemas import user as user_schema

LOGIN_PATH = "/api/v1/auth/login"

# auto_error=False: a missing token must become our 401 problem body, not FastAPI's.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=LOGIN_PATH, auto_error=False)


# async: FastAPI runs a plain `def` dependency in a worker thread, a costly hop for a
# getter (measured by `make bench`).
async def get_settings(request: Request) -> settings_module.Settings:
    settings: settings_module.Settings = request.app.state.settings
    return settings


async def get_cache(request: Request) -> cache_module.Cache:
    cache: cache_module.Cache = request.app.state.cache
    return cache


async def get_metrics(request: Request) -> metrics_module.Metrics:
    metrics: metrics_module.Metrics = request.app.state.metrics
    return metrics


async def get_inference(request: Request) -> inference_module.InferenceClient | None:
    """The model server client; None when `JOURNAL_API_INFERENCE_URL` is unset."""
    client: inference_module.InferenceClient | None = request.app.state.inference
    return client


async def get_password_slots(request: Request) -> security.PasswordSlots:
    slots: security.PasswordSlots = request.app.state.password_slots
    return slots


async def limit_per_account(request: Request, account: str) -> None:
    """The strict `/auth/*` limit per account (``account``: a keyed hash of the email).

    The per-address one is the middleware's; this one holds however many addresses an
    attacker spreads the guesses for one email over. Unknown emails count alike.

    Raises:
        errors.TooManyRequests: over `rate_limit_auth_per_account` per window.
    """
    settings: settings_module.Settings = request.app.state.settings
    limiter: ratelimit.RateLimiter = request.app.state.limiter
    limit = settings.rate_limit_auth_per_account
    _, decision, _ = await limiter.hit([(f"auth-account:{account}", limit)])
    if not decision.allowed:
        metrics: metrics_module.Metrics = request.app.state.metrics
        metrics.rate_limited.labels("account").inc()
        raise errors.TooManyRequests(
            f"rate limit exceeded ({limit} requests per "
            f"{settings.rate_limit_window_seconds}s per account)",
            retry_after=decision.retry_after,
        )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; routes commit explicitly, anything else rolls back."""
    async with request.app.state.sessionmaker() as session:
        yield session


SettingsDep = Annotated[settings_module.Settings, Depends(get_settings)]
CacheDep = Annotated[cache_module.Cache, Depends(get_cache)]
MetricsDep = Annotated[metrics_module.Metrics, Depends(get_metrics)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
InferenceDep = Annotated[inference_module.InferenceClient | None, Depends(get_inference)]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]
PasswordSlotsDep = Annotated[security.PasswordSlots, Depends(get_password_slots)]


def _claims(
    request: Request, settings: settings_module.Settings, token: str
) -> security.AccessClaims:
    # The rate-limiting middleware already verified this very token: reuse its result.
    verified = request.scope.get("access_claims")
    if verified is not None and verified[0] == token:
        claims: security.AccessClaims = verified[1]
        return claims
    try:
        return security.decode_access_token(settings, token)
    except security.InvalidTokenError as exc:
        raise errors.Unauthorized("invalid or expired token") from exc


def prefetched(request: Request, user_id: uuid.UUID) -> gate.Prefetch | None:
    """What the middleware's admission round trip read for ``user_id``, if anything."""
    prefetch: gate.Prefetch | None = request.scope.get(gate.SCOPE_KEY)
    return prefetch if prefetch is not None and prefetch.user_id == user_id else None


async def _auth_state(
    request: Request,
    cache: cache_module.Cache,
    settings: settings_module.Settings,
    *,
    user_id: uuid.UUID,
) -> user_schema.AuthUser | None:
    prefetch = prefetched(request, user_id)
    cached = prefetch.auth if prefetch else await auth_cache.read(cache, user_id=user_id)
    if cached.state is not None:
        return user_schema.AuthUser.model_validate_json(cached.state)
    # A session only on a miss: cached requests never build one.
    # Sessions ended longer ago than an access token lives need no listing.
    window = dt.timedelta(seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds)
    async with request.app.state.sessionmaker() as session:
        user = await users_repo.get_auth_state(session, user_id=user_id, session_window=window)
    if user is not None and cached.generation is not None:
        await auth_cache.fill(
            cache,
            user_id=user_id,
            generation=cached.generation,
            state=user.model_dump_json().encode(),
            ttl=settings.auth_cache_ttl_seconds,
        )
    return user


async def get_current_user(
    request: Request,
    token: TokenDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> user_schema.AuthUser:
    """The user the bearer token belongs to, from the auth-state cache or PostgreSQL.

    Raises:
        errors.Unauthorized: no token, an invalid one, a deleted user, a token issued
            before the user's `tokens_valid_after` (logout-all, password change), or one
            of a session that was ended (logout, refresh-token reuse).
    """
    if not token:
        raise errors.Unauthorized("missing bearer token")
    claims = _claims(request, settings, token)
    user = await _auth_state(request, cache, settings, user_id=claims.user_id)
    if (
        user is None
        or claims.issued_at < user.tokens_valid_after.timestamp()
        or claims.session_id in user.revoked_sessions
    ):
        raise errors.Unauthorized("token has been revoked")
    request.scope["user_id"] = str(user.id)
    return user


def open_session(request: Request) -> AsyncSession:
    """A session for a route that needs the database only on a cache miss.

    Use as ``async with deps.open_session(request) as session:``.
    """
    session: AsyncSession = request.app.state.sessionmaker()
    return session


def audit_context(request: Request) -> dict[str, Any]:
    """Client address (as resolved by the middleware) and user agent for `audit.record`."""
    return {
        "ip": request.scope.get("client_ip"),
        "user_agent": request.headers.get("user-agent"),
    }


CurrentUser = Annotated[user_schema.AuthUser, Depends(get_current_user)]
