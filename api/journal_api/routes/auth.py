"""`/api/v1/auth/*`: register, log in (JSON or OAuth2 form), refresh, log out.

Routes orchestrate: SQL lives in `repositories/`, token and hashing rules in `security`.
Every security event is written to the audit table in the same transaction.
"""

from __future__ import annotations

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
from journal_api.models import token as token_model
from journal_api.repositories import audit, tokens, users
from journal_api.schemas import auth as schemas
from journal_api.services import credentials

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

LOGIN_FAILED = "incorrect email or password"
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
    """A new access token plus a stored refresh token (continuing session ``family_id``).

    Takes the user's issuing lock (`users.lock_for_issue`) if the caller has not yet, so
    a revocation committing meanwhile either sees this token or is seen by it.
    """
    if not await users.lock_for_issue(session, user_id=user_id):
        raise errors.Unauthorized("the account no longer exists")
    family = family_id or uuid.uuid4()
    refresh, refresh_hash = security.new_refresh_token()
    issued_at = await tokens.issue(
        session,
        user_id=user_id,
        token_hash=refresh_hash,
        ttl=dt.timedelta(seconds=settings.refresh_token_ttl_seconds),
        family_id=family,
    )
    return schemas.TokenPair(
        access_token=security.create_access_token(
            settings, user_id=user_id, session_id=family, issued_at=issued_at.timestamp()
        ),
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_seconds,
    )


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.RegistrationAccepted,
)
async def register(
    body: schemas.RegisterRequest,
    request: Request,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    slots: deps.PasswordSlotsDep,
) -> schemas.RegistrationAccepted:
    """Create an account, then log in with the same email and password.

    The answer is the same whether or not the email already has an account, so nobody
    learns which emails do: an existing account is left unchanged (this password does
    not open it) and its owner finds the attempt in its audit trail. The password needs
    at least 12 characters, letters and others.
    """
    await deps.limit_per_account(request, credentials.subject(settings, body.email))
    # Hashed before anything else, whether or not the email is taken: the same work
    # either way, so the answer's timing does not tell either.
    password_hash = await slots.hash(body.password)
    user_id, created = await users.create_if_absent(
        session,
        email=body.email,
        password_hash=password_hash,
        display_name=body.display_name,
        timezone=body.timezone,
    )
    await audit.record(
        session,
        event_type=(
            audit.EventType.REGISTRATION if created else audit.EventType.REGISTRATION_EXISTING
        ),
        user_id=user_id,
        **deps.audit_context(request),
    )
    await session.commit()
    return schemas.RegistrationAccepted(email=body.email)


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
    slots: deps.PasswordSlotsDep,
) -> schemas.TokenPair:
    """Exchange email and password for a token pair (JSON, or the OAuth2 password form).

    Failures answer the same whether or not the email exists; repeated failures are
    slowed down, then the email is locked for a while (429 with Retry-After), alike for
    accounts and unknown emails (`services/credentials.py`).
    """
    given = await _login_credentials(request)
    email = given.email.lower()
    context = deps.audit_context(request)
    subject = credentials.subject(settings, email)
    await deps.limit_per_account(request, subject)
    user = await users.get_by_email(session, email=email)
    await credentials.ensure_unlocked(session, subject=subject)
    user_id, stored_hash = (user.id, user.password_hash) if user is not None else (None, None)
    await session.commit()  # the connection goes back to the pool while the hash runs
    if not await slots.verify(given.password, stored_hash):
        failures = await credentials.failed(
            session,
            settings,
            subject=subject,
            user_id=user_id,
            event_type=audit.EventType.LOGIN_FAILURE,
            reason="bad_password" if user_id is not None else "unknown_email",
            audit_subject=None if user_id is not None else audit.email_subject(settings, email),
            context=context,
        )
        # Slow the next guess down; the transaction is committed, so nothing is held.
        await credentials.failed_slowly(failures, settings)
        raise errors.Unauthorized(LOGIN_FAILED)
    assert user_id is not None
    assert stored_hash is not None
    # Upgrade a hash made with older argon2 parameters while the password is at hand.
    rehashed = (
        await slots.hash(given.password) if security.needs_rehash(settings, stored_hash) else None
    )
    await credentials.succeeded(session, subject=subject)
    if rehashed is not None:
        await users.set_password_hash(
            session, user_id=user_id, expected=stored_hash, password_hash=rehashed
        )
    await audit.record(
        session, event_type=audit.EventType.LOGIN_SUCCESS, user_id=user_id, **context
    )
    pair = await issue_pair(session, settings, user_id=user_id)
    await session.commit()
    return pair


REFRESH_REUSED = "refresh token already used: all its sessions are revoked"


def _is_retry(
    row: token_model.RefreshToken,
    *,
    now: dt.datetime,
    fingerprint: str,
    settings: settings_module.Settings,
) -> bool:
    # A second refresh of one token by the client that used it, moments later: a retry
    # after a lost answer, or two tabs. Anyone else, or later, is replaying a stolen token.
    assert row.used_at is not None
    grace = dt.timedelta(seconds=settings.refresh_reuse_grace_seconds)
    return row.used_by == fingerprint and now - row.used_at <= grace


async def _reuse_detected(
    session: AsyncSession,
    cache: cache_module.Cache,
    *,
    row: token_model.RefreshToken,
    context: dict[str, Any],
) -> NoReturn:
    await users.lock_for_revocation(session, user_id=row.user_id)
    await tokens.revoke_family(session, family_id=row.family_id)
    await audit.record(
        session,
        event_type=audit.EventType.TOKEN_REUSE_DETECTED,
        user_id=row.user_id,
        details={"family_id": str(row.family_id)},
        **context,
    )
    await session.commit()
    # After the commit: the session's access tokens are refused from the next request on.
    await auth_cache.invalidate(cache, user_id=row.user_id)
    raise errors.Unauthorized(REFRESH_REUSED)


@router.post("/refresh", response_model=schemas.TokenPair, responses=errors.responses(401))
async def refresh(
    body: schemas.RefreshRequest,
    request: Request,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    cache: deps.CacheDep,
) -> schemas.TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once: presenting a
    used one again revokes its whole session, refresh and access tokens (theft
    detection), except a retry by the same client within a few seconds, which gets a
    new pair of the same session."""
    token_hash = security.hash_refresh_token(body.refresh_token)
    context = deps.audit_context(request)
    fingerprint = credentials.client_fingerprint(settings, context)
    found = await tokens.find(session, token_hash=token_hash)
    if found is None:
        raise errors.Unauthorized("invalid refresh token")
    row, now = found
    if row.used_at is not None and not _is_retry(
        row, now=now, fingerprint=fingerprint, settings=settings
    ):
        await _reuse_detected(session, cache, row=row, context=context)
    # The issuing lock first, then the token's row (the order every revoker takes too).
    await users.lock_for_issue(session, user_id=row.user_id)
    locked = await tokens.get_for_update(session, token_hash=token_hash)
    if locked is None or locked.revoked_at is not None or locked.expires_at <= now:
        raise errors.Unauthorized("refresh token expired or revoked")
    if locked.used_at is None:
        await tokens.mark_used(session, token_id=locked.id, used_by=fingerprint)
    elif _is_retry(locked, now=now, fingerprint=fingerprint, settings=settings):
        await audit.record(
            session,
            event_type=audit.EventType.REFRESH_RETRIED,
            user_id=locked.user_id,
            details={"family_id": str(locked.family_id)},
            **context,
        )
    else:  # used meanwhile by another client: revoke, holding no shared lock
        await session.rollback()
        await _reuse_detected(session, cache, row=locked, context=context)
    pair = await issue_pair(session, settings, user_id=locked.user_id, family_id=locked.family_id)
    await session.commit()
    return pair


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(
    body: schemas.RefreshRequest,
    request: Request,
    session: deps.SessionDep,
    cache: deps.CacheDep,
) -> None:
    """End the session of this refresh token: it and the session's access tokens stop
    working (idempotent: unknown tokens also answer 204)."""
    found = await tokens.find(session, token_hash=security.hash_refresh_token(body.refresh_token))
    if found is None:
        return
    row, _ = found
    await users.lock_for_revocation(session, user_id=row.user_id)
    await tokens.revoke_family(session, family_id=row.family_id)
    await audit.record(
        session,
        event_type=audit.EventType.LOGOUT,
        user_id=row.user_id,
        details={"family_id": str(row.family_id)},
        **deps.audit_context(request),
    )
    await session.commit()
    await auth_cache.invalidate(cache, user_id=row.user_id)


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
    # The cut-off first: its row lock waits for refreshes in flight, so the revocation
    # below sees the tokens they issue (repositories/tokens.py).
    await users.revoke_access_tokens(session, user_id=user.id)
    await tokens.revoke_all(session, user_id=user.id)
    await audit.record(
        session,
        event_type=audit.EventType.LOGOUT_ALL,
        user_id=user.id,
        **deps.audit_context(request),
    )
    await session.commit()
    # After the commit: the new token cut-off applies from the next request on.
    await auth_cache.invalidate(cache, user_id=user.id)
