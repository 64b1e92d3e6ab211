"""SQL for the `jobs` outbox: enqueue in the caller's transaction, claim, finish, fail.

Writers call `enqueue` inside the transaction of the write that needs the work, so the
job commits (or rolls back) with it, and with it a `NOTIFY` that wakes a listening
worker at once (`wakeup.py`). The worker (`working.py`) calls the rest, each in
its own short transaction:

- `claim` leases a batch of due jobs with `FOR UPDATE SKIP LOCKED`: concurrent workers
  skip each other's rows instead of waiting, and no job is handed to two of them. A job
  whose lease ran out (its worker died) is due again. Kinds whose dependency is down are
  left out of the claim, so they wait without spending attempts.
- `complete` deletes a finished job; `reschedule` puts a periodic one back in the queue
  (or a job whose input changed while it ran).
- `fail` queues the job again after a back-off, or marks it `dead` after the last attempt.
- `release` hands jobs back untried (their dependency went down mid-batch): the attempt
  is refunded.

A job with a `dedupe_key` exists at most once while queued or running (a partial unique
index): enqueueing it again is a no-op, which is how ten quick edits of an entry leave
one analysis job.

Every finishing call is guarded by `locked_by`, so a worker whose lease expired cannot
touch a job another worker has claimed since.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import job as job_model

Status = job_model.Status
# `enqueue` notifies it; idle workers listen on it (`wakeup.py`).
NOTIFY_CHANNEL = "journal_jobs"
# Kept so a dead job's row stays readable; a traceback tail is enough to diagnose.
MAX_ERROR_CHARS = 2000

_CLAIM_SQL = text(
    """
    UPDATE jobs
    SET status = 'running', attempts = attempts + 1, locked_by = :worker,
        locked_until = now() + make_interval(secs => :lease_seconds), updated_at = now()
    WHERE id IN (
        SELECT id FROM jobs
        WHERE ((status = 'queued' AND run_after <= now())
               OR (status = 'running' AND locked_until < now()))
          AND kind <> ALL(CAST(:skip_kinds AS text[]))
        ORDER BY run_after, id
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, kind, user_id, payload, attempts
    """
)

_RELEASE_SQL = text(
    """
    UPDATE jobs
    SET status = 'queued', attempts = greatest(attempts - 1, 0),
        run_after = now() + make_interval(secs => :delay_seconds),
        locked_by = NULL, locked_until = NULL, last_error = :error, updated_at = now()
    WHERE id = ANY(:ids) AND locked_by = :worker
    """
)

_FAIL_SQL = text(
    """
    UPDATE jobs
    SET status = CASE WHEN attempts >= :max_attempts THEN 'dead' ELSE 'queued' END,
        run_after = now() + make_interval(secs => :delay_seconds),
        locked_by = NULL, locked_until = NULL, last_error = :error, updated_at = now()
    WHERE id = :id AND locked_by = :worker
    RETURNING status
    """
)


@dataclasses.dataclass(frozen=True)
class ClaimedJob:
    """A job leased to this worker; ``attempts`` counts this run."""

    id: uuid.UUID
    kind: str
    user_id: uuid.UUID | None
    payload: dict[str, Any]
    attempts: int


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    user_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    delay: dt.timedelta | None = None,
) -> None:
    """Queue a job in the caller's transaction; it exists if and only if that commits.

    With a ``dedupe_key``, nothing is queued while a job with that key is queued or
    running (the caller's own write must make the running one notice; see
    `services/analysis.py`). With a ``delay``, the job is due that long after now.
    """
    statement = insert(job_model.Job).values(
        id=uuid.uuid4(), kind=kind, user_id=user_id, payload=payload or {}, dedupe_key=dedupe_key
    )
    if delay is not None:
        statement = statement.values(run_after=func.now() + delay)
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=["dedupe_key"],
            index_where=text("status IN ('queued', 'running')"),
        )
    # One round trip: the NOTIFY is sent only when a row was queued, and delivered only
    # when the caller's transaction commits.
    queued = statement.returning(job_model.Job.id).cte("queued")
    await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")).select_from(queued))


async def notify(session: AsyncSession) -> None:
    """Wake listening workers when the caller's transaction commits (`wakeup.py`)."""
    await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))


async def enqueue_unique(
    session: AsyncSession,
    *,
    kind: str,
    jobs: Sequence[tuple[uuid.UUID | None, dict[str, Any], str]],
) -> int:
    """Queue many jobs at once, each ``(user_id, payload, dedupe_key)``, skipping every key
    that already has a live job.

    Returns:
        How many were queued.
    """
    if not jobs:
        return 0
    result = await session.execute(
        insert(job_model.Job)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "kind": kind,
                    "user_id": user_id,
                    "payload": payload,
                    "dedupe_key": key,
                }
                for user_id, payload, key in jobs
            ]
        )
        .on_conflict_do_nothing(
            index_elements=["dedupe_key"],
            index_where=text("status IN ('queued', 'running')"),
        )
        .returning(job_model.Job.id)
    )
    queued = len(result.all())
    if queued:
        await notify(session)
    return queued


async def discard_queued(session: AsyncSession, *, dedupe_key: str) -> None:
    """Drop the queued (not running) job with ``dedupe_key``: its work became moot."""
    await session.execute(
        text("DELETE FROM jobs WHERE dedupe_key = :key AND status = 'queued'"),
        {"key": dedupe_key},
    )


async def schedule_once(session: AsyncSession, *, kind: str, run_after: dt.datetime) -> None:
    """Queue a job of ``kind`` unless one is already queued or running (periodic jobs).

    The unique index on live `dedupe_key`s makes this safe from several workers at once.
    """
    await session.execute(
        insert(job_model.Job)
        .values(id=uuid.uuid4(), kind=kind, payload={}, dedupe_key=kind, run_after=run_after)
        .on_conflict_do_nothing(
            index_elements=["dedupe_key"],
            index_where=text("status IN ('queued', 'running')"),
        )
    )


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    batch: int,
    lease: dt.timedelta,
    skip_kinds: Sequence[str] = (),
) -> list[ClaimedJob]:
    """Lease up to ``batch`` due jobs to ``worker`` for ``lease``; commit to publish it.

    Jobs of ``skip_kinds`` stay where they are (their dependency is unavailable).
    """
    rows = await session.execute(
        _CLAIM_SQL,
        {
            "worker": worker,
            "batch": batch,
            "lease_seconds": lease.total_seconds(),
            "skip_kinds": list(skip_kinds),
        },
    )
    return [ClaimedJob(row.id, row.kind, row.user_id, row.payload, row.attempts) for row in rows]


async def complete(session: AsyncSession, *, job_id: uuid.UUID, worker: str) -> None:
    """Remove a finished job (the outbox keeps only work still to do, and dead jobs)."""
    await session.execute(
        text("DELETE FROM jobs WHERE id = :id AND locked_by = :worker"),
        {"id": job_id, "worker": worker},
    )


async def reschedule(
    session: AsyncSession, *, job_id: uuid.UUID, worker: str, run_after: dt.datetime
) -> None:
    """Queue a job this worker holds again, with fresh attempts: a periodic job for its
    next run, or a job whose input changed while it ran."""
    await session.execute(
        text(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_after = :run_after, "
            "locked_by = NULL, locked_until = NULL, last_error = NULL, updated_at = now() "
            "WHERE id = :id AND locked_by = :worker"
        ),
        {"id": job_id, "worker": worker, "run_after": run_after},
    )


async def fail(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    worker: str,
    error: str,
    max_attempts: int,
    delay: dt.timedelta,
) -> str | None:
    """Record a failed run: queue again after ``delay``, or `dead` after ``max_attempts``.

    Returns:
        The job's new status, or None if the job is no longer this worker's.
    """
    result = await session.execute(
        _FAIL_SQL,
        {
            "id": job_id,
            "worker": worker,
            "error": error[-MAX_ERROR_CHARS:],
            "max_attempts": max_attempts,
            "delay_seconds": delay.total_seconds(),
        },
    )
    status: str | None = result.scalar_one_or_none()
    return status


async def release(
    session: AsyncSession,
    *,
    job_ids: Sequence[uuid.UUID],
    worker: str,
    delay: dt.timedelta,
    error: str,
) -> None:
    """Queue jobs this worker holds again after ``delay``, refunding the attempt: they
    were not tried because a dependency is down, which says nothing about the jobs."""
    await session.execute(
        _RELEASE_SQL,
        {
            "ids": list(job_ids),
            "worker": worker,
            "delay_seconds": delay.total_seconds(),
            "error": error[-MAX_ERROR_CHARS:],
        },
    )


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many jobs are in each status (the queue-depth gauge)."""
    rows = await session.execute(text("SELECT status, count(*) AS n FROM jobs GROUP BY status"))
    return {row.status: int(row.n) for row in rows}
