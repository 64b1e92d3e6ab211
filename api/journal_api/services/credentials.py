"""Password checks with lockout, alike for every email, never holding a connection.

Called by `routes/auth.py` (login) and `routes/users.py` (password change, account
deletion). The policy, in one place:

1. Failures are counted per keyed hash of the email (`subject`) in `login_failures`,
   whether or not an account has that email, and in PostgreSQL whatever Redis's state:
   a lock, its `Retry-After` and the count's decay cannot tell real and unknown emails
   apart. `login_max_failures` failures, each within `login_lockout_seconds` of the
   previous one, lock the subject for `login_lockout_seconds`.
2. The hash is checked with no database connection and no row lock held: callers read
   what they need, end that transaction (`session.commit()` returns the connection to the
   pool), then call `verify`, which waits for one of the app's hashing slots
   (`security.PasswordSlots`). The result is written in a new short transaction.
3. Every failure is audited; the lock is audited when it starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import uuid
from typing import Any

from journal_api import errors, security
from journal_api import settings as settings_module
from journal_api.repositories import audit, login_failures
from sqlalchemy.ext.asyncio import AsyncSession

ACCOUNT_LOCKED = "account temporarily locked"
LOCKED_NOW = "too many failed logins: account temporarily locked"
MAX_SLOWDOWN_SECONDS = 2.0


def _keyed(settings: settings_module.Settings, purpose: bytes, value: str) -> str:
    key = hmac.new(settings.jwt_key.get_secret_value().encode(), purpose, hashlib.sha256)
    return hmac.new(key.digest(), value.encode(), hashlib.sha256).hexdigest()


def subject(settings: settings_module.Settings, email: str) -> str:
    """The keyed hash failures of ``email`` are counted under (nobody can reverse it by
    trying candidate emails without the server's key)."""
    return _keyed(settings, b"login-failures", email.lower())


def client_fingerprint(settings: settings_module.Settings, context: dict[str, Any]) -> str:
    """A keyed hash of the client's address and user agent (`deps.audit_context`)."""
    return _keyed(settings, b"refresh-client", f"{context.get('ip')}\n{context.get('user_agent')}")


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def slowdown(failures: int, base: float) -> float:
    """Seconds to wait before answering failure number ``failures`` (from the second on)."""
    return 0.0 if failures < 2 else min(base * 2 ** (failures - 2), MAX_SLOWDOWN_SECONDS)


async def ensure_unlocked(session: AsyncSession, *, subject: str) -> None:
    """Raise 429 with the lock's remaining time while ``subject`` is locked."""
    remaining = await login_failures.locked_for(session, subject=subject)
    if remaining is not None:
        raise errors.TooManyRequests(ACCOUNT_LOCKED, retry_after=_retry_after(remaining))


async def failed(
    session: AsyncSession,
    settings: settings_module.Settings,
    *,
    subject: str,
    user_id: uuid.UUID | None,
    event_type: str,
    reason: str,
    audit_subject: str | None,
    context: dict[str, Any],
) -> int:
    """Count and audit one failed check, commit, and raise 429 if it locked ``subject``.

    Returns:
        The failures counted so far (to slow the answer down with `slowdown`).
    """
    failure = await login_failures.record_failure(
        session,
        subject=subject,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_lockout_seconds,
    )
    await audit.record(
        session,
        event_type=event_type,
        user_id=user_id,
        subject=audit_subject,
        details={"reason": reason},
        **context,
    )
    if failure.locked_for is not None:
        await audit.record(
            session,
            event_type=audit.EventType.ACCOUNT_LOCKED,
            user_id=user_id,
            subject=audit_subject,
            **context,
        )
    await session.commit()
    if failure.locked_for is not None:
        raise errors.TooManyRequests(LOCKED_NOW, retry_after=_retry_after(failure.locked_for))
    return failure.failures


async def succeeded(session: AsyncSession, *, subject: str) -> None:
    """After a correct password: refuse it if a lock started meanwhile, else forget the
    failures (in the caller's transaction)."""
    await ensure_unlocked(session, subject=subject)
    await login_failures.clear(session, subject=subject)


async def failed_slowly(failures: int, settings: settings_module.Settings) -> None:
    await asyncio.sleep(slowdown(failures, settings.login_slowdown_base_seconds))


async def check_current_password(
    session: AsyncSession,
    settings: settings_module.Settings,
    slots: security.PasswordSlots,
    *,
    user_id: uuid.UUID,
    email: str,
    stored_hash: str,
    password: str,
    action: str,
    context: dict[str, Any],
) -> None:
    """The current-password check of a signed-in user (password change, deletion).

    Counts against the same lock as logins (a stolen access token cannot guess the
    password faster than a login could), and ends the caller's transaction before hashing
    and again after a success (the failures forgotten), so the caller may then hash a new
    password holding no connection and no row lock.

    Raises:
        errors.Forbidden: a wrong password (audited as `password_check_failed`).
        errors.TooManyRequests: while locked, or when this failure locks.
    """
    key = subject(settings, email)
    await ensure_unlocked(session, subject=key)
    await session.commit()  # no connection held while hashing
    if await slots.verify(password, stored_hash):
        await succeeded(session, subject=key)
        await session.commit()
        return
    failures = await failed(
        session,
        settings,
        subject=key,
        user_id=user_id,
        event_type=audit.EventType.PASSWORD_CHECK_FAILED,
        reason=action,
        audit_subject=None,
        context=context,
    )
    await failed_slowly(failures, settings)
    raise errors.Forbidden("current_password is incorrect")
