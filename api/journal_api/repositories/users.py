"""SQL for the `users` table: look-ups, creation, updates, login-failure bookkeeping.

Called by `routes/auth.py`, `routes/users.py` and `deps.get_current_user`. Functions
take the session and keyword arguments; callers own the transaction (commit).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete as sql_delete
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import user as user_model
from journal_api.schemas import user as user_schema

# New accounts have no tokens yet; starting the cut-off in the past keeps a token issued
# right after registration valid even if this replica's clock trails the database's.
_NEW_ACCOUNT_TOKEN_CUTOFF = dt.timedelta(minutes=1)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def get(session: AsyncSession, *, user_id: uuid.UUID) -> user_model.User | None:
    return await session.get(user_model.User, user_id)


async def get_auth_state(
    session: AsyncSession, *, user_id: uuid.UUID
) -> user_schema.AuthUser | None:
    """What authentication needs about ``user_id`` (no ORM object, no password hash)."""
    User = user_model.User  # noqa: N806 - a short alias for the column list
    row = (
        await session.execute(
            select(
                User.id,
                User.email,
                User.display_name,
                User.timezone,
                User.created_at,
                User.tokens_valid_after,
            ).where(User.id == user_id)
        )
    ).one_or_none()
    return None if row is None else user_schema.AuthUser.model_validate(row)


async def get_by_email(session: AsyncSession, *, email: str) -> user_model.User | None:
    result = await session.execute(select(user_model.User).where(user_model.User.email == email))
    return result.scalar_one_or_none()


async def get_by_email_for_update(session: AsyncSession, *, email: str) -> user_model.User | None:
    """The user row locked until commit, so concurrent failed logins count correctly."""
    result = await session.execute(
        select(user_model.User).where(user_model.User.email == email).with_for_update()
    )
    return result.scalar_one_or_none()


async def create(
    session: AsyncSession,
    *,
    email: str,
    password_hash: str,
    display_name: str | None,
    timezone: str,
) -> user_model.User:
    user = user_model.User(
        email=email,
        password_hash=password_hash,
        display_name=display_name,
        timezone=timezone,
        tokens_valid_after=utcnow() - _NEW_ACCOUNT_TOKEN_CUTOFF,
    )
    session.add(user)
    await session.flush()
    await session.refresh(user)
    return user


async def revoke_access_tokens(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Make every access token issued so far invalid (checked in `deps`)."""
    await session.execute(
        update(user_model.User)
        .where(user_model.User.id == user_id)
        .values(tokens_valid_after=utcnow())
    )


async def record_login_failure(
    session: AsyncSession, *, user: user_model.User, max_failures: int, lockout: dt.timedelta
) -> bool:
    """Count a failed login; lock the account after ``max_failures``. Returns True if locked."""
    user.failed_login_count += 1
    if user.failed_login_count >= max_failures:
        user.locked_until = utcnow() + lockout
        user.failed_login_count = 0
        await session.flush()
        return True
    await session.flush()
    return False


async def record_login_success(session: AsyncSession, *, user: user_model.User) -> None:
    user.failed_login_count = 0
    user.locked_until = None
    await session.flush()


async def delete(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Delete the user; ON DELETE CASCADE removes everything that references it."""
    await session.execute(sql_delete(user_model.User).where(user_model.User.id == user_id))
