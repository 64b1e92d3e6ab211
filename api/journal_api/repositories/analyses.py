"""SQL for `entry_analyses`: request an analysis, read what to analyse, store results.

The API calls `request` (a new entry) and `reset` (its text changed) in the write's
transaction. The worker (`services/analysis.py`) calls `texts` to read what to analyse
and `store`/`fail` to write the outcome, each guarded by the `revision` it read: when
the text changed in between, nothing is written and the caller queues the entry again.
`reanalyzing.py` pages through `outdated` ones. Callers own the transaction.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import analysis as analysis_model
from journal_api.models import entry as entry_model

EntryAnalysis = analysis_model.EntryAnalysis
Status = analysis_model.Status
# Every result column: `reset` clears them, `store` sets them.
RESULT_COLUMNS = (
    "failure_reason",
    "emotion_scores",
    "emotion_labels",
    "ekman",
    "sentiment",
    "polarity",
    "embedding",
    "model_name",
    "model_version",
    "analyzed_at",
    "crisis_flagged",
    "crisis_screening",
)


@dataclasses.dataclass(frozen=True)
class Pending:
    """An entry's text as the worker reads it, with the revision it belongs to."""

    entry_id: uuid.UUID
    user_id: uuid.UUID
    title: str | None
    content: str
    revision: int


def request(entry: entry_model.Entry) -> None:
    """Give a new entry its pending analysis (inserted with the entry on flush)."""
    entry.analysis = EntryAnalysis(user_id=entry.user_id, status=Status.PENDING, revision=0)


async def reset(session: AsyncSession, *, entry: entry_model.Entry) -> None:
    """Mark the entry's analysis pending again after its text changed (revision + 1).

    One UPDATE, so two edits at once cannot both write the same revision; the row lock
    it takes is what makes a worker storing a result at that moment notice the edit.
    """
    values: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS)
    await session.execute(
        update(EntryAnalysis)
        .where(EntryAnalysis.entry_id == entry.id)
        .values(
            status=Status.PENDING,
            truncated=False,
            revision=EntryAnalysis.revision + 1,
            **values,
        )
        .execution_options(synchronize_session="fetch")
    )
    if entry.analysis is None:
        # An entry from before analyses existed and not yet backfilled: start one now.
        request(entry)
        await session.flush()


async def texts(session: AsyncSession, *, entry_ids: Sequence[uuid.UUID]) -> list[Pending]:
    """The current text and revision of each entry that still exists."""
    Entry = entry_model.Entry  # noqa: N806 - a short alias for the column list
    rows = await session.execute(
        select(Entry.id, Entry.user_id, Entry.title, Entry.content, EntryAnalysis.revision)
        .join(EntryAnalysis, EntryAnalysis.entry_id == Entry.id)
        .where(Entry.id.in_(list(entry_ids)))
    )
    return [Pending(*row) for row in rows]


async def store(
    session: AsyncSession, *, entry_id: uuid.UUID, revision: int, values: dict[str, Any]
) -> bool:
    """Write a finished analysis if the text is still at ``revision``.

    Args:
        session: the worker's session.
        entry_id: whose analysis.
        revision: the revision of the text that was analysed.
        values: the result columns (`RESULT_COLUMNS`, `truncated`).

    Returns:
        False when the text changed meanwhile (or the entry is gone): nothing written.
    """
    return await _guarded(
        session, entry_id=entry_id, revision=revision, status=Status.DONE, values=values
    )


async def fail(
    session: AsyncSession,
    *,
    entry_id: uuid.UUID,
    revision: int,
    reason: str,
    model_name: str | None = None,
    model_version: str | None = None,
) -> bool:
    """Mark the analysis failed with ``reason`` if the text is still at ``revision``."""
    values = dict.fromkeys(RESULT_COLUMNS)
    values.update(failure_reason=reason, model_name=model_name, model_version=model_version)
    return await _guarded(
        session, entry_id=entry_id, revision=revision, status=Status.FAILED, values=values
    )


async def _guarded(
    session: AsyncSession,
    *,
    entry_id: uuid.UUID,
    revision: int,
    status: str,
    values: dict[str, Any],
) -> bool:
    result = await session.execute(
        update(EntryAnalysis)
        .where(EntryAnalysis.entry_id == entry_id, EntryAnalysis.revision == revision)
        .values(status=status, **values)
        .returning(EntryAnalysis.entry_id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def outdated(
    session: AsyncSession,
    *,
    model_version: str,
    after: uuid.UUID | None,
    batch: int,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The next ``batch`` (entry id, user id) pairs, in entry-id order after ``after``,
    whose analysis was not made by ``model_version`` (pending ones included)."""
    query = (
        select(EntryAnalysis.entry_id, EntryAnalysis.user_id)
        .where(EntryAnalysis.model_version.is_distinct_from(model_version))
        .order_by(EntryAnalysis.entry_id)
        .limit(batch)
    )
    if after is not None:
        query = query.where(EntryAnalysis.entry_id > after)
    return [(row.entry_id, row.user_id) for row in await session.execute(query)]


async def count_outdated(session: AsyncSession, *, model_version: str) -> int:
    """How many analyses were not made by ``model_version``."""
    count = await session.scalar(
        select(func.count()).where(EntryAnalysis.model_version.is_distinct_from(model_version))
    )
    return int(count or 0)
