"""Reads and writes `theme_snapshots` (`models/theme_snapshot.py`); callers commit.

A per-user advisory lock orders a refresh's last check against the writes that queue the next
one: a write holds it shared from just before it queues a refresh until it commits, and the
refresh holds it exclusively from its final check until it commits (and its job is gone). A
write that found the refresh still running, so queued nothing, has therefore committed before
that check and is seen by it; a later write waits, then queues a new refresh.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import theme_snapshot as model


@dataclasses.dataclass(frozen=True)
class Snapshot:
    max_entries: int
    body: bytes
    fingerprint: str
    computed_at: dt.datetime


async def get(session: AsyncSession, *, user_id: uuid.UUID) -> Snapshot | None:
    row = (
        await session.execute(
            select(
                model.ThemeSnapshot.max_entries,
                model.ThemeSnapshot.body,
                model.ThemeSnapshot.fingerprint,
                model.ThemeSnapshot.computed_at,
            ).where(model.ThemeSnapshot.user_id == user_id)
        )
    ).one_or_none()
    return None if row is None else Snapshot(*row)


async def put(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    max_entries: int,
    body: bytes,
    fingerprint: str,
    computed_at: dt.datetime,
) -> None:
    """Store (or replace) the user's snapshot; an account deleted meanwhile stores nothing
    (rather than failing on its foreign key)."""
    await session.execute(
        _PUT_SQL,
        {
            "user_id": user_id,
            "max_entries": max_entries,
            "body": body,
            "fingerprint": fingerprint,
            "computed_at": computed_at,
        },
    )


# The user row is share-locked, so the account cannot go between the check and the insert.
_PUT_SQL = text(
    """
    INSERT INTO theme_snapshots (user_id, max_entries, body, fingerprint, computed_at)
    SELECT id, :max_entries, :body, :fingerprint, :computed_at
    FROM users WHERE id = :user_id FOR KEY SHARE
    ON CONFLICT (user_id) DO UPDATE SET
      max_entries = excluded.max_entries, body = excluded.body,
      fingerprint = excluded.fingerprint, computed_at = excluded.computed_at
    """
)


async def discard(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    await session.execute(delete(model.ThemeSnapshot).where(model.ThemeSnapshot.user_id == user_id))


# Two-key advisory locks live apart from the one-key space `migrating.py` uses.
_REFRESH_LOCK_CLASS = 727_104


async def hold_for_refresh(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Share-lock the user's themes refresh until the caller's transaction ends; take it
    before queueing a refresh."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock_shared(:lock_class, hashtext(:user_key))"),
        {"lock_class": _REFRESH_LOCK_CLASS, "user_key": str(user_id)},
    )


async def lock_for_refresh(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Lock the user's themes refresh exclusively until the caller's transaction ends: waits
    for every write holding it (`hold_for_refresh`) to commit."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:user_key))"),
        {"lock_class": _REFRESH_LOCK_CLASS, "user_key": str(user_id)},
    )
