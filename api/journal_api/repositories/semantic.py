"""Nearest entries by embedding: cosine k-NN over one user's analyses with pgvector.

One HNSW index (`ix_entry_analyses_embedding`) serves every user, so a plain index scan
would return the `hnsw.ef_search` nearest vectors of *all* users and the `user_id`
filter would then leave too few, or none, of this user's. pgvector 0.8's iterative
index scan fixes that: with `hnsw.iterative_scan = relaxed_order` the scan goes on past
`ef_search` candidates until `limit` rows have passed the filter (bounded by
`hnsw.max_scan_tuples`). Relaxed order can return rows slightly out of distance order,
so the rows are sorted again outside a materialised CTE (pgvector's README recipe), which
also joins the entries themselves, so a search costs one query after its settings. For
a user with few entries the planner may instead read them by `user_id` and sort them
exactly; both give this user's nearest entries and only theirs.

Both settings are `SET LOCAL` (`set_config(..., true)`): they end with the transaction
and never leak to another request on the pooled connection. Called by
`services/search.py` and `routes/entries.py` (similar entries).
"""

from __future__ import annotations

import dataclasses
import uuid

from pgvector.sqlalchemy import Vector
from sqlalchemy import CTE, Float, Uuid, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import analysis as analysis_model
from journal_api.models import entry as entry_model

ITERATIVE_SCAN = "relaxed_order"

_SETTINGS_SQL = text(
    "SELECT set_config('hnsw.iterative_scan', :mode, true), "
    "set_config('hnsw.ef_search', :ef_search, true)"
)

_NEAREST_SQL = """
    SELECT a.entry_id, a.embedding <=> :query AS distance
    FROM entry_analyses AS a
    WHERE a.user_id = :user_id AND a.embedding IS NOT NULL {exclude}
    ORDER BY a.embedding <=> :query
    LIMIT :limit
"""
_QUERY_PARAM = bindparam("query", type_=Vector(analysis_model.EMBEDDING_DIMENSIONS), required=True)


def _nearest(exclude: bool) -> CTE:
    sql = _NEAREST_SQL.format(exclude="AND a.entry_id <> :exclude" if exclude else "")
    columns = text(sql).bindparams(_QUERY_PARAM).columns(entry_id=Uuid(), distance=Float())
    # Materialised: the index scan's rows are fetched once, then re-sorted exactly.
    return columns.cte("nearest").prefix_with("MATERIALIZED")


@dataclasses.dataclass(frozen=True)
class Neighbour:
    entry: entry_model.Entry
    similarity: float  # cosine similarity, 1 = same direction


async def nearest(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    embedding: list[float],
    limit: int,
    ef_search: int,
    exclude: uuid.UUID | None = None,
) -> list[Neighbour]:
    """The user's ``limit`` analysed entries nearest to ``embedding``, nearest first.

    Args:
        session: a session whose transaction this call may configure (SET LOCAL).
        user_id: whose entries; no other user's entry is ever considered.
        embedding: an L2-normalised query vector.
        limit: at most this many.
        ef_search: the HNSW candidate list size (raised to ``limit`` if smaller).
        exclude: an entry to leave out (the one whose neighbours are wanted).
    """
    await session.execute(
        _SETTINGS_SQL, {"mode": ITERATIVE_SCAN, "ef_search": str(max(ef_search, limit))}
    )
    params: dict[str, object] = {"query": embedding, "user_id": user_id, "limit": limit}
    if exclude is not None:
        params["exclude"] = exclude
    nearest = _nearest(exclude is not None)
    Entry = entry_model.Entry  # noqa: N806 - a short alias
    # One round trip: the entries (with their analyses) come joined to their distances.
    rows = await session.execute(
        select(Entry, nearest.c.distance)
        .join(nearest, Entry.id == nearest.c.entry_id)
        .where(Entry.user_id == user_id)
        .order_by(nearest.c.distance, nearest.c.entry_id),
        params,
    )
    return [Neighbour(entry, 1.0 - float(distance)) for entry, distance in rows.unique().all()]


async def embedding_of(
    session: AsyncSession, *, user_id: uuid.UUID, entry_id: uuid.UUID
) -> list[float] | None:
    """The stored embedding of the user's entry; None while it is not analysed."""
    A = analysis_model.EntryAnalysis  # noqa: N806 - a short alias
    vector = await session.scalar(
        select(A.embedding).where(A.entry_id == entry_id, A.user_id == user_id)
    )
    return None if vector is None else [float(value) for value in vector]
