"""SQL for refresh tokens: issue, rotate (single use), revoke one, a family, or all.

Called by `routes/auth.py` and `routes/users.py`. Only SHA-256 digests are stored.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import token as token_model


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def issue(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    token_hash: str,
    ttl: dt.timedelta,
    family_id: uuid.UUID | None = None,
) -> token_model.RefreshToken:
    """Store a new refresh token; a login starts a new family, a rotation continues one."""
    row = token_model.RefreshToken(
        user_id=user_id,
        family_id=family_id or uuid.uuid4(),
        token_hash=token_hash,
        expires_at=_now() + ttl,
    )
    session.add(row)
    await session.flush()
    return row


async def get_for_update(
    session: AsyncSession, *, token_hash: str
) -> token_model.RefreshToken | None:
    """The row for ``token_hash``, locked so two concurrent refreshes cannot both win."""
    result = await session.execute(
        select(token_model.RefreshToken)
        .where(token_model.RefreshToken.token_hash == token_hash)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def mark_used(session: AsyncSession, *, token: token_model.RefreshToken) -> None:
    token.used_at = _now()
    await session.flush()


async def revoke_by_hash(session: AsyncSession, *, token_hash: str) -> None:
    """Revoke one token; whoever holds it may log it out, so no owner check is needed."""
    await session.execute(
        update(token_model.RefreshToken)
        .where(
            token_model.RefreshToken.token_hash == token_hash,
            token_model.RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=_now())
    )


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID) -> None:
    await session.execute(
        update(token_model.RefreshToken)
        .where(
            token_model.RefreshToken.family_id == family_id,
            token_model.RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=_now())
    )


async def revoke_all(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    await session.execute(
        update(token_model.RefreshToken)
        .where(
            token_model.RefreshToken.user_id == user_id,
            token_model.RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=_now())
    )


async def purge_expired(session: AsyncSession, *, older_than: dt.timedelta) -> int:
    """Delete tokens that expired or were revoked more than ``older_than`` ago.

    The grace period keeps reuse detection working for a while: presenting a used token
    again revokes its family even after it expired, as long as its row still exists.

    Returns:
        How many rows were deleted.
    """
    cutoff = _now() - older_than
    result = await session.execute(
        delete(token_model.RefreshToken).where(
            or_(
                token_model.RefreshToken.expires_at < cutoff,
                token_model.RefreshToken.revoked_at < cutoff,
            )
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
