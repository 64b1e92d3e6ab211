"""Writes security events to `audit_events`; the only way anything records one.

Other modules call `record(session, event_type=..., user_id=..., ...)` inside their own
transaction (the event commits or rolls back with the action it describes). Event types
are the `EventType` constants; `details` must never contain secrets or tokens.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from journal_api import keys
from journal_api import settings as settings_module
from journal_api.models import audit as audit_model


class EventType:
    REGISTRATION = "registration"
    # Someone tried to register the account's email again: for its owner's eyes (the
    # registration answer is the same as for a new email, so as not to reveal the account).
    REGISTRATION_EXISTING = "registration_existing"
    LOGIN_SUCCESS = "login_success"
    LOGIN_FAILURE = "login_failure"
    ACCOUNT_LOCKED = "account_locked"
    TOKEN_REUSE_DETECTED = "token_reuse_detected"  # noqa: S105 (an event name)
    PASSWORD_CHANGE = "password_change"  # noqa: S105 (an event name)
    PASSWORD_CHECK_FAILED = "password_check_failed"  # noqa: S105 (an event name)
    REFRESH_RETRIED = "refresh_retried"
    LOGOUT = "logout"
    EXPORT = "export"
    ACCOUNT_DELETED = "account_deleted"
    LOGOUT_ALL = "logout_all"


def email_subject(settings: settings_module.Settings, email: str) -> str:
    """A stand-in for an email, for events with no matching account: an HMAC with the
    server's audit key (`keys.py`), so nobody holding the audit trail but not the key can
    test candidate emails against it, as they could a plain SHA-256."""
    return keys.digest(keys.derive(settings, keys.AUDIT_SUBJECT), email.lower().encode())


async def record(
    session: AsyncSession,
    *,
    event_type: str,
    user_id: uuid.UUID | None,
    ip: str | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
    subject: str | None = None,
) -> None:
    """Add one audit event to the session's transaction (the caller commits).

    Args:
        session: the caller's session.
        event_type: one of `EventType`.
        user_id: the account concerned, if it exists.
        ip: the client address.
        user_agent: the client's User-Agent, truncated.
        details: non-secret context.
        subject: defaults to ``str(user_id)``; survives account deletion.
    """
    session.add(
        audit_model.AuditEvent(
            event_type=event_type,
            user_id=user_id,
            subject=subject or (str(user_id) if user_id else None),
            ip=ip[:64] if ip else None,
            user_agent=user_agent[:512] if user_agent else None,
            details=details or {},
        )
    )
    await session.flush()
