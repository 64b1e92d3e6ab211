"""Reads `entry_usage` (kept by a trigger on `entries`) for the per-user quotas.

Called by `services/entries.py` inside the write's transaction; the caller commits.
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclasses.dataclass(frozen=True)
class Usage:
    entries: int
    text_chars: int


async def locked(session: AsyncSession, *, user_id: uuid.UUID) -> Usage:
    """The user's usage, its row locked until the transaction ends, so two concurrent
    writes cannot both take the last of a quota.

    The row is created (empty) when missing, in the same statement: a user's very first
    writes, arriving together, must queue on one row like any others.
    """
    row = (await session.execute(_LOCK_SQL, {"user_id": user_id})).one()
    return Usage(int(row.entries), int(row.text_chars))


# DO UPDATE (a no-op) rather than DO NOTHING: it locks the existing row and returns it.
_LOCK_SQL = text(
    """
    INSERT INTO entry_usage AS u (user_id) VALUES (:user_id)
    ON CONFLICT (user_id) DO UPDATE SET entries = u.entries
    RETURNING u.entries, u.text_chars
    """
)
