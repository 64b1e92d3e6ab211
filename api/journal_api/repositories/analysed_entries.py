"""Reads a user's analysed entries for the insights that need more than the per-day
aggregates: the words, tags and topics of the entries of two windows (`services/shifts.py`
explains a shift with them) and the most recent embeddings (`services/themes.py`), with a
fingerprint of those.

Both reads are bounded (`limit`) and scoped to one user; local days are the analyses'
`local_day`, the same days `emotion_days` counts them under.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_WINDOW_SQL = text(
    """
    SELECT e.id, a.local_day, e.title, e.content, e.tags, t.name AS topic,
           a.ekman, a.polarity
    FROM entry_analyses a
    JOIN entries e ON e.id = a.entry_id
    LEFT JOIN topics t ON t.id = e.topic_id
    WHERE a.user_id = :user_id AND a.status = 'done'
      AND a.local_day BETWEEN :start AND :end
    ORDER BY a.local_day DESC, e.created_at DESC
    LIMIT :limit
    """
)

_RECENT_SQL = text(
    """
    SELECT e.id, e.title, e.content, e.entry_date, a.embedding::real[] AS embedding
    FROM entries e
    JOIN entry_analyses a ON a.entry_id = e.id
    WHERE e.user_id = :user_id AND a.status = 'done' AND a.embedding IS NOT NULL
    ORDER BY e.created_at DESC, e.id DESC
    LIMIT :limit
    """
)

# The same entries as `_RECENT_SQL`, hashed by what clustering and its labels read: a
# new, deleted or edited entry, or a new analysis, changes it.
_FINGERPRINT_SQL = text(
    """
    SELECT encode(sha256(convert_to(coalesce(string_agg(
             r.id::text || ':' || r.updated_at::text || ':' || r.analyzed_at::text, ','
             ORDER BY r.created_at DESC, r.id DESC), ''), 'UTF8')), 'hex')
    FROM (
      SELECT e.id, e.created_at, e.updated_at, a.analyzed_at
      FROM entries e
      JOIN entry_analyses a ON a.entry_id = e.id
      WHERE e.user_id = :user_id AND a.status = 'done' AND a.embedding IS NOT NULL
      ORDER BY e.created_at DESC, e.id DESC
      LIMIT :limit
    ) r
    """
)


@dataclasses.dataclass(frozen=True)
class Analysed:
    """An analysed entry as the shift explanations read it."""

    id: uuid.UUID
    day: dt.date
    title: str | None
    content: str
    tags: tuple[str, ...]
    topic: str | None
    ekman: str | None
    polarity: float | None


@dataclasses.dataclass(frozen=True)
class Embedded:
    """An analysed entry with its embedding, for clustering."""

    id: uuid.UUID
    title: str | None
    content: str
    entry_date: dt.date
    embedding: tuple[float, ...]


async def between(
    session: AsyncSession, *, user_id: uuid.UUID, start: dt.date, end: dt.date, limit: int
) -> list[Analysed]:
    """The user's analysed entries of local days [start, end], newest first, at most
    ``limit``."""
    rows = await session.execute(
        _WINDOW_SQL, {"user_id": user_id, "start": start, "end": end, "limit": limit}
    )
    return [
        Analysed(
            row.id,
            row.local_day,
            row.title,
            row.content,
            tuple(row.tags or ()),
            row.topic,
            row.ekman,
            row.polarity,
        )
        for row in rows
    ]


async def most_recent(session: AsyncSession, *, user_id: uuid.UUID, limit: int) -> list[Embedded]:
    """The user's ``limit`` most recently written analysed entries with their embeddings."""
    rows = await session.execute(_RECENT_SQL, {"user_id": user_id, "limit": limit})
    return [
        # real[]: asyncpg decodes the array in C (parsing the text form cost more than clustering).
        Embedded(row.id, row.title, row.content, row.entry_date, tuple(row.embedding))
        for row in rows
    ]


async def fingerprint(session: AsyncSession, *, user_id: uuid.UUID, limit: int) -> str:
    """A hash of the entries `most_recent` would read now (without reading them)."""
    value = await session.scalar(_FINGERPRINT_SQL, {"user_id": user_id, "limit": limit})
    return str(value)


def texts(entries: Sequence[Analysed | Embedded]) -> list[str]:
    """Each entry's title and content, as one text."""
    return [f"{e.title}\n{e.content}" if e.title else e.content for e in entries]
