"""SQL for refresh tokens: issue, rotate (single use), revoke a session or all of them.

Called by `routes/auth.py` and `routes/users.py`. Only SHA-256 digests are stored.

Why revocation cannot miss a token issued concurrently: every issuer holds the user's
row `FOR SHARE` (`users.lock_for_issue`) from before it reads the token it rotates until
it commits the new one, and every revoker first takes the same row in a conflicting mode
(`users.lock_for_revocation`, or the `UPDATE` of the cut-off). So a revocation either
waits for an in-flight refresh to commit, and its `UPDATE` (a later statement, a newer
snapshot) sees the new row, or runs first, and the refresh then finds its token revoked.
Times come from the database clock (`clock_timestamp()`), the one all replicas share.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import token as token_model

RefreshToken = token_model.RefreshToken


async def issue(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    token_hash: str,
    ttl: dt.timedelta,
    family_id: uuid.UUID,
) -> dt.datetime:
    """Store a new refresh token of session ``family_id``; the caller holds
    `users.lock_for_issue`.

    Returns:
        When it was issued, by the database clock (the access token's `iat`).
    """
    result = await session.execute(
        insert(RefreshToken)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash,
            created_at=func.clock_timestamp(),
            expires_at=func.clock_timestamp() + ttl,
        )
        .returning(RefreshToken.created_at)
    )
    issued_at: dt.datetime = result.scalar_one()
    return issued_at


async def find(
    session: AsyncSession, *, token_hash: str
) -> tuple[RefreshToken, dt.datetime] | None:
    """The row for ``token_hash`` (not locked) and the database's time now."""
    result = await session.execute(
        select(RefreshToken, func.clock_timestamp()).where(RefreshToken.token_hash == token_hash)
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])


async def get_for_update(session: AsyncSession, *, token_hash: str) -> RefreshToken | None:
    """The row for ``token_hash``, re-read and locked so two refreshes cannot both win."""
    result = await session.execute(
        select(RefreshToken)
        .where(RefreshToken.token_hash == token_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def mark_used(session: AsyncSession, *, token_id: uuid.UUID, used_by: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id)
        .values(used_at=func.clock_timestamp(), used_by=used_by)
    )


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID) -> None:
    """End one login session; the caller holds `users.lock_for_revocation`."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.clock_timestamp())
    )


async def revoke_all(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """End every session; the caller moved the cut-off first (`users.revoke_access_tokens`).

    `now()` is the transaction's start, before that cut-off: these sessions' access tokens
    are ended by the cut-off, so they need not be listed by `revoked_families`.
    """
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoked_families(
    session: AsyncSession, *, user_id: uuid.UUID, after: dt.datetime, within: dt.timedelta
) -> list[uuid.UUID]:
    """Sessions ended after ``after`` (the token cut-off) and less than ``within`` ago:
    those whose access tokens may still be unexpired and must be refused by `sid`."""
    result = await session.execute(
        select(RefreshToken.family_id)
        .where(
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at > after,
            RefreshToken.revoked_at > func.clock_timestamp() - within,
        )
        .distinct()
    )
    return sorted(result.scalars())


async def purge_expired(session: AsyncSession, *, older_than: dt.timedelta) -> int:
    """Delete tokens that expired or were revoked more than ``older_than`` ago.

    The grace period keeps reuse detection working for a while: presenting a used token
    again revokes its family even after it expired, as long as its row still exists.

    Returns:
        How many rows were deleted.
    """
    cutoff = func.now() - older_than
    result = await session.execute(
        delete(RefreshToken).where(
            or_(RefreshToken.expires_at < cutoff, RefreshToken.revoked_at < cutoff)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
