"""SQL for the `entries` table: CRUD and the keyset-paginated, filtered list.

Every query is scoped to one user. The list is ordered by (entry_date, created_at, id),
newest first, and paged with a keyset cursor (the last row's sort key) rather than an
offset, so a page costs the same at any depth and rows inserted meanwhile are neither
skipped nor repeated. Called by `routes/entries.py` and `services/export.py`; callers
own the transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api import keys
from journal_api.models import analysis as analysis_model
from journal_api.models import entry as entry_model

Entry = entry_model.Entry
EntryAnalysis = analysis_model.EntryAnalysis


@dataclasses.dataclass(frozen=True)
class Keyset:
    """The sort key of the last row of a page: where the next page starts."""

    entry_date: dt.date
    created_at: dt.datetime
    id: uuid.UUID

    def encode(self, key: bytes) -> str:
        """The opaque cursor clients send back, signed with ``key`` (`keys.CURSOR`)."""
        raw = json.dumps([self.entry_date.isoformat(), self.created_at.isoformat(), str(self.id)])
        return keys.sign(key, raw.encode())

    @classmethod
    def decode(cls, cursor: str, key: bytes) -> Keyset:
        """Parse a cursor made by `encode` with the same ``key``.

        The signature is checked first: a cursor a client made up or altered never
        reaches the parser, let alone the query.

        Raises:
            ValueError: not a cursor this API issued.
        """
        raw = keys.verify(key, cursor)
        try:
            day, created, ident = json.loads(raw)
            created_at = dt.datetime.fromisoformat(created)
            if created_at.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(dt.date.fromisoformat(day), created_at, uuid.UUID(ident))
        except (UnicodeDecodeError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError("malformed cursor") from exc


@dataclasses.dataclass(frozen=True)
class Filters:
    """Optional conditions of `GET /entries`; None means "no condition"."""

    topic_id: uuid.UUID | None = None
    tag: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    favorite: bool | None = None
    mood_min: int | None = None
    mood_max: int | None = None
    # Analysed entries only: a GoEmotions label above its threshold, or the Ekman group.
    emotion: str | None = None
    sentiment: str | None = None


async def create(session: AsyncSession, *, user_id: uuid.UUID, values: dict[str, Any]) -> Entry:
    """Insert an entry with ``values`` (column → value) for ``user_id``."""
    entry = Entry(user_id=user_id, **values)
    session.add(entry)
    await session.flush()
    return entry


async def get(session: AsyncSession, *, user_id: uuid.UUID, entry_id: uuid.UUID) -> Entry | None:
    """The user's entry, or None when it does not exist or belongs to someone else."""
    result = await session.execute(
        select(Entry).where(Entry.id == entry_id, Entry.user_id == user_id)
    )
    return result.scalar_one_or_none()


async def update(session: AsyncSession, *, entry: Entry, values: dict[str, Any]) -> Entry:
    """Apply ``values`` (column → value) to ``entry``."""
    for field, value in values.items():
        setattr(entry, field, value)
    await session.flush()
    return entry


async def delete(session: AsyncSession, *, entry: Entry) -> None:
    await session.delete(entry)
    await session.flush()


async def list_page(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    filters: Filters,
    after: Keyset | None,
    limit: int,
) -> tuple[list[Entry], Keyset | None]:
    """One page of the user's entries, newest first, and the keyset of the next page.

    Args:
        session: the request's session.
        user_id: whose entries.
        filters: conditions every returned entry meets.
        after: the previous page's keyset; None for the first page.
        limit: page size.

    Returns:
        The entries, and the keyset to continue from (None on the last page).
    """
    query: Select[Entry] = _filtered(select(Entry).where(Entry.user_id == user_id), filters)
    order = (Entry.entry_date, Entry.created_at, Entry.id)
    if after is not None:
        query = query.where(tuple_(*order) < (after.entry_date, after.created_at, after.id))
    # One extra row tells whether another page exists without a COUNT.
    query = query.order_by(*(column.desc() for column in order)).limit(limit + 1)
    rows: list[Entry] = list((await session.execute(query)).scalars())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Keyset(last.entry_date, last.created_at, last.id)


def _filtered(query: Select[Entry], filters: Filters) -> Select[Entry]:
    if filters.topic_id is not None:
        query = query.where(Entry.topic_id == filters.topic_id)
    if filters.tag is not None:
        query = query.where(Entry.tags.contains([filters.tag]))
    if filters.date_from is not None:
        query = query.where(Entry.entry_date >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(Entry.entry_date <= filters.date_to)
    if filters.favorite is not None:
        query = query.where(Entry.is_favorite.is_(filters.favorite))
    if filters.mood_min is not None:
        query = query.where(Entry.mood >= filters.mood_min)
    if filters.mood_max is not None:
        query = query.where(Entry.mood <= filters.mood_max)
    if filters.emotion is not None or filters.sentiment is not None:
        # Correlated: a primary-key probe per listed entry, never a scan of all analyses.
        query = query.where(_analysed_matching(filters).exists())
    return query


def _analysed_matching(filters: Filters) -> Select[tuple[int]]:
    query = select(1).where(
        EntryAnalysis.entry_id == Entry.id, EntryAnalysis.status == analysis_model.Status.DONE
    )
    if filters.emotion is not None:
        query = query.where(
            or_(
                EntryAnalysis.emotion_labels.contains([filters.emotion]),
                EntryAnalysis.ekman == filters.emotion,
            )
        )
    if filters.sentiment is not None:
        query = query.where(EntryAnalysis.sentiment == filters.sentiment)
    return query


async def stream_all(
    session: AsyncSession, *, user_id: uuid.UUID, batch: int = 1000
) -> AsyncIterator[Entry]:
    """Every entry of the user, oldest first, fetched in batches (for the export)."""
    result = await session.stream_scalars(
        select(Entry)
        .where(Entry.user_id == user_id)
        .order_by(Entry.entry_date, Entry.created_at, Entry.id)
        .execution_options(yield_per=batch)
    )
    async for entry in result:
        yield entry
