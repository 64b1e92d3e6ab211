"""SQL for the `users` table: look-ups, creation, updates, the locks around tokens.

Called by `routes/auth.py`, `routes/users.py` and `deps.get_current_user`. Functions
take the session and keyword arguments; callers own the transaction (commit). The user's
row is the lock that orders issuing and revoking tokens (`repositories/tokens.py`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import user as user_model
from journal_api.repositories import tokens
from journal_api.schemas import user as user_schema

# New accounts have no tokens yet; starting the cut-off in the past keeps a token issued
# right after registration valid even if this replica's clock trails the database's.
_NEW_ACCOUNT_TOKEN_CUTOFF = dt.timedelta(minutes=1)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def get(session: AsyncSession, *, user_id: uuid.UUID) -> user_model.User | None:
    return await session.get(user_model.User, user_id)


async def get_auth_state(
    session: AsyncSession, *, user_id: uuid.UUID, session_window: dt.timedelta
) -> user_schema.AuthUser | None:
    """What authentication needs about ``user_id`` (no ORM object, no password hash):
    the profile, the token cut-off, and the sessions ended within ``session_window`` (an
    access token's lifetime and leeway) whose access tokens are refused by their `sid`."""
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
    if row is None:
        return None
    revoked = await tokens.revoked_families(
        session, user_id=user_id, after=row.tokens_valid_after, within=session_window
    )
    return user_schema.AuthUser.model_validate({**row._mapping, "revoked_sessions": revoked})


async def get_by_email(session: AsyncSession, *, email: str) -> user_model.User | None:
    result = await session.execute(select(user_model.User).where(user_model.User.email == email))
    return result.scalar_one_or_none()


async def lock_for_issue(session: AsyncSession, *, user_id: uuid.UUID) -> bool:
    """Hold the user's row `FOR SHARE` until commit, before issuing a refresh token.

    Issuers do not block each other; a revoker (`lock_for_revocation`, the cut-off's
    UPDATE) waits for them, and they for it. Returns False when the user is gone.
    """
    result = await session.execute(
        select(user_model.User.id).where(user_model.User.id == user_id).with_for_update(read=True)
    )
    return result.scalar_one_or_none() is not None


async def lock_for_revocation(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Hold the user's row against issuers until commit, before revoking a session."""
    await session.execute(
        select(user_model.User.id)
        .where(user_model.User.id == user_id)
        .with_for_update(key_share=True)
    )


async def create_if_absent(
    session: AsyncSession,
    *,
    email: str,
    password_hash: str,
    display_name: str | None,
    timezone: str,
) -> tuple[uuid.UUID, bool]:
    """Create the account unless the email has one, in one statement (no race).

    Returns:
        The account's id, and whether it was created now.
    """
    User = user_model.User  # noqa: N806 - a short alias for the column list
    created = await session.execute(
        postgresql.insert(User)
        .values(
            id=uuid.uuid4(),
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            timezone=timezone,
            tokens_valid_after=func.clock_timestamp() - _NEW_ACCOUNT_TOKEN_CUTOFF,
        )
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User.id)
    )
    new_id = created.scalar_one_or_none()
    if new_id is not None:
        return new_id, True
    existing = await session.execute(select(User.id).where(User.email == email))
    return existing.scalar_one(), False


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


async def revoke_access_tokens(
    session: AsyncSession, *, user_id: uuid.UUID, password_hash: str | None = None
) -> None:
    """Make every access token issued so far invalid (checked in `deps`), optionally
    setting a new password hash in the same statement.

    Run it FIRST in a revoking transaction: its row lock orders it against every issuer
    (`repositories/tokens.py`), and the cut-off is the database clock's, like `iat`.
    """
    # The lock first, the cut-off after: an UPDATE computes its new values before it waits
    # for the row, so a cut-off taken in one statement would predate the tokens that
    # issuers in flight are still to commit, and leave their access tokens valid.
    await lock_for_revocation(session, user_id=user_id)
    values: dict[str, object] = {"tokens_valid_after": func.clock_timestamp()}
    if password_hash is not None:
        values["password_hash"] = password_hash
    await session.execute(
        update(user_model.User).where(user_model.User.id == user_id).values(**values)
    )


async def set_password_hash(
    session: AsyncSession, *, user_id: uuid.UUID, expected: str, password_hash: str
) -> None:
    """Replace a hash made with old argon2 parameters, unless the password changed since."""
    await session.execute(
        update(user_model.User)
        .where(user_model.User.id == user_id, user_model.User.password_hash == expected)
        .values(password_hash=password_hash)
    )


async def delete(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Delete the user; ON DELETE CASCADE removes everything that references it."""
    await session.execute(sql_delete(user_model.User).where(user_model.User.id == user_id))
