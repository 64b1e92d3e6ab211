"""`/api/v1/auth/*`: register, log in (JSON or OAuth2 form), refresh, log out.

Routes orchestrate: SQL lives in `repositories/`, token and hashing rules in `security`.
Every security event is written to the audit table in the same transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any, NoReturn

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api import deps, errors, security
from journal_api import settings as settings_module
from journal_api.clients import auth_cache
from journal_api.clients import cache as cache_module
from journal_api.models import user as user_model
from journal_api.repositories import audit, tokens, users
from journal_api.schemas import auth as schemas
from journal_api.schemas import user as user_schemas

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

LOGIN_FAILED = "incorrect email or password"
ACCOUNT_LOCKED = "account temporarily locked"
LOCKED_NOW = "too many failed logins: account temporarily locked"
MAX_SLOWDOWN_SECONDS = 2.0
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_LOGIN_FORM_SCHEMA = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["password"]},
        "username": {"type": "string", "description": "The account's email."},
        "password": {"type": "string"},
        "scope": {"type": "string"},
    },
}


async def issue_pair(
    session: AsyncSession,
    settings: settings_module.Settings,
    *,
    user_id: uuid.UUID,
    family_id: uuid.UUID | None = None,
) -> schemas.TokenPair:
    """A new access token plus a stored refresh token (continuing ``family_id`` if given)."""
    refresh, refresh_hash = security.new_refresh_token()
    await tokens.issue(
        session,
        user_id=user_id,
        token_hash=refresh_hash,
        ttl=dt.timedelta(seconds=settings.refresh_token_ttl_seconds),
        family_id=family_id,
    )
    return schemas.TokenPair(
        access_token=security.create_access_token(settings, user_id=user_id),
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_seconds,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=user_schemas.UserPublic,
    responses=errors.responses(409),
)
async def register(
    body: schemas.RegisterRequest,
    request: Request,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
) -> user_model.User:
    """Create an account. The password needs at least 12 characters, letters and others."""
    if await users.get_by_email(session, email=body.email) is not None:
        raise errors.Conflict("an account with this email already exists")
    password_hash = await asyncio.to_thread(security.hash_password, settings, body.password)
    user = await users.create(
        session,
        email=body.email,
        password_hash=password_hash,
        display_name=body.display_name,
        timezone=body.timezone,
    )
    await audit.record(
        session,
        event_type=audit.EventType.REGISTRATION,
        user_id=user.id,
        **deps.audit_context(request),
    )
    await session.commit()
    return user


async def _login_credentials(request: Request) -> schemas.LoginRequest:
    # One path serves JSON clients and the OAuth2 password form of the docs' Authorize button.
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_form = content_type == FORM_MEDIA_TYPE
    try:
        if is_form:
            form = await request.form()
            return schemas.LoginRequest(email=form.get("username"), password=form.get("password"))
        if content_type == "application/json" or content_type.endswith("+json"):
            return schemas.LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        # Name the fields as the client sent them: the form calls the email `username`.
        rename = {"email": "username"} if is_form else {}
        field_errors = [
            {**error, "loc": ("body", *(rename.get(str(p), p) for p in error["loc"]))}
            for error in exc.errors()
        ]
        raise RequestValidationError(field_errors) from exc
    except (ValueError, AssertionError) as exc:  # an undecodable form body
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body",), "msg": "unreadable body"}]
        ) from exc
    raise errors.UnsupportedMediaType(f"send {FORM_MEDIA_TYPE} or application/json")


def _slowdown(failures: int, base: float) -> float:
    return 0.0 if failures < 2 else min(base * 2 ** (failures - 2), MAX_SLOWDOWN_SECONDS)


@router.post(
    "/login",
    response_model=schemas.TokenPair,
    responses=errors.responses(401, 415),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schemas.LoginRequest.model_json_schema()},
                FORM_MEDIA_TYPE: {"schema": _LOGIN_FORM_SCHEMA},
            },
        }
    },
)
async def login(
    request: Request,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    cache: deps.CacheDep,
) -> schemas.TokenPair:
    """Exchange email and password for a token pair (JSON, or the OAuth2 password form).

    Failures answer the same whether or not the email exists; repeated failures are
    slowed down, then the account is locked for a while (429 with Retry-After).
    """
    credentials = await _login_credentials(request)
    email = credentials.email.lower()
    context = deps.audit_context(request)
    user = await users.get_by_email_for_update(session, email=email)
    now = users.utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        retry_after = int((user.locked_until - now).total_seconds()) + 1
        raise errors.TooManyRequests(ACCOUNT_LOCKED, retry_after=retry_after)
    if (
        user is None
        and (await cache.get_int(_phantom_key(email)) or 0) >= settings.login_max_failures
    ):
        raise errors.TooManyRequests(ACCOUNT_LOCKED, retry_after=settings.login_lockout_seconds)
    hash_ = user.password_hash if user is not None else None
    if await asyncio.to_thread(security.verify_password, settings, credentials.password, hash_):
        assert user is not None
        await users.record_login_success(session, user=user)
        await audit.record(
            session, event_type=audit.EventType.LOGIN_SUCCESS, user_id=user.id, **context
        )
        pair = await issue_pair(session, settings, user_id=user.id)
        await session.commit()
        return pair
    if user is None:
        await _unknown_email_failed(session, settings, cache=cache, email=email, context=context)
    await _account_login_failed(session, settings, user=user, context=context)


def _phantom_key(email: str) -> str:
    # Failures for emails without an account are counted in Redis, so unknown emails lock
    # exactly like real accounts and the lock does not reveal which emails exist.
    return cache_module.global_key("login-failures", audit.email_subject(email))


async def _unknown_email_failed(
    session: AsyncSession,
    settings: settings_module.Settings,
    *,
    cache: cache_module.Cache,
    email: str,
    context: dict[str, Any],
) -> NoReturn:
    await audit.record(
        session,
        event_type=audit.EventType.LOGIN_FAILURE,
        user_id=None,
        subject=audit.email_subject(email),
        details={"reason": "unknown_email"},
        **context,
    )
    await session.commit()
    failures = await cache.incr(_phantom_key(email), ttl=settings.login_lockout_seconds) or 0
    if failures >= settings.login_max_failures:
        raise errors.TooManyRequests(LOCKED_NOW, retry_after=settings.login_lockout_seconds)
    await asyncio.sleep(_slowdown(failures, settings.login_slowdown_base_seconds))
    raise errors.Unauthorized(LOGIN_FAILED)


async def _account_login_failed(
    session: AsyncSession,
    settings: settings_module.Settings,
    *,
    user: user_model.User,
    context: dict[str, Any],
) -> NoReturn:
    lockout = dt.timedelta(seconds=settings.login_lockout_seconds)
    locked = await users.record_login_failure(
        session, user=user, max_failures=settings.login_max_failures, lockout=lockout
    )
    failures = user.failed_login_count
    await audit.record(
        session,
        event_type=audit.EventType.LOGIN_FAILURE,
        user_id=user.id,
        details={"reason": "bad_password"},
        **context,
    )
    if locked:
        await audit.record(
            session, event_type=audit.EventType.ACCOUNT_LOCKED, user_id=user.id, **context
        )
    await session.commit()
    if locked:
        raise errors.TooManyRequests(LOCKED_NOW, retry_after=settings.login_lockout_seconds)
    # Slow the next guess down; the transaction is committed, so no row lock is held.
    await asyncio.sleep(_slowdown(failures, settings.login_slowdown_base_seconds))
    raise errors.Unauthorized(LOGIN_FAILED)


@router.post("/refresh", response_model=schemas.TokenPair, responses=errors.responses(401))
async def refresh(
    body: schemas.RefreshRequest,
    request: Request,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
) -> schemas.TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once: presenting a
    used one again revokes every token descended from the same login (theft detection)."""
    row = await tokens.get_for_update(
        session, token_hash=security.hash_refresh_token(body.refresh_token)
    )
    if row is None:
        raise errors.Unauthorized("invalid refresh token")
    if row.used_at is not None:
        await tokens.revoke_family(session, family_id=row.family_id)
        await audit.record(
            session,
            event_type=audit.EventType.TOKEN_REUSE_DETECTED,
            user_id=row.user_id,
            details={"family_id": str(row.family_id)},
            **deps.audit_context(request),
        )
        await session.commit()
        raise errors.Unauthorized("refresh token already used: all its sessions are revoked")
    if row.revoked_at is not None or row.expires_at <= users.utcnow():
        raise errors.Unauthorized("refresh token expired or revoked")
    await tokens.mark_used(session, token=row)
    pair = await issue_pair(session, settings, user_id=row.user_id, family_id=row.family_id)
    await session.commit()
    return pair


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(body: schemas.RefreshRequest, session: deps.SessionDep) -> None:
    """Revoke one refresh token (idempotent: unknown tokens also answer 204)."""
    await tokens.revoke_by_hash(session, token_hash=security.hash_refresh_token(body.refresh_token))
    await session.commit()


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors.responses(401),
)
async def logout_all(
    request: Request, user: deps.CurrentUser, session: deps.SessionDep, cache: deps.CacheDep
) -> None:
    """Revoke every refresh token of the user and every access token issued so far."""
    await tokens.revoke_all(session, user_id=user.id)
    await users.revoke_access_tokens(session, user_id=user.id)
    await audit.record(
        session,
        event_type=audit.EventType.LOGOUT_ALL,
        user_id=user.id,
        **deps.audit_context(request),
    )
    await session.commit()
    # After the commit: the new token cut-off applies from the next request on.
    await auth_cache.invalidate(cache, user_id=user.id)
