"""The `jobs` table: the transactional outbox the worker drains.

A write that needs background work inserts a job in its own transaction (see
`repositories/jobs.enqueue`), so the work is recorded exactly when the write commits and
never lost. The worker (`working.py`) claims queued jobs with `FOR UPDATE SKIP LOCKED`,
leases them (`locked_by`, `locked_until`) and deletes each one it completes. A failed job
goes back to `queued` with a later `run_after`; after the last attempt it stays `dead`
with its `last_error` for someone to look at.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class Kind:
    """Job kinds; `services/jobs.py` maps each to its handler."""

    # An entry was edited or deleted: drop the user's search words no entry uses now.
    REFRESH_SEARCH_TERMS = "search_terms.refresh"
    # An entry was written or its text edited: analyse it with the model server
    # (`services/analysis.py`; payload {"entry_id"}, one live job per entry).
    ANALYZE_ENTRY = "entry.analyze"
    # Analyses were stored, or an entry deleted: recompute the user's stored themes
    # (`services/themes.refresh`; one live job per user, delayed to cover a burst).
    REFRESH_THEMES = "themes.refresh"
    # Periodic, scheduled by the worker itself: delete long-dead refresh tokens.
    PURGE_EXPIRED_TOKENS = "tokens.purge_expired"


def analyze_entry_key(entry_id: uuid.UUID) -> str:
    """The dedupe key of an entry's analysis job: at most one live job per entry."""
    return f"{Kind.ANALYZE_ENTRY}:{entry_id}"


def refresh_search_terms_key(user_id: uuid.UUID) -> str:
    """The dedupe key of a user's vocabulary refresh: at most one live job per user (one
    prune covers every edit made before it runs)."""
    return f"{Kind.REFRESH_SEARCH_TERMS}:{user_id}"


def refresh_themes_key(user_id: uuid.UUID) -> str:
    """The dedupe key of a user's themes refresh: at most one live job per user."""
    return f"{Kind.REFRESH_THEMES}:{user_id}"


class Status:
    QUEUED = "queued"
    RUNNING = "running"
    DEAD = "dead"


class Job(base.Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # The claim query: due queued jobs, oldest first.
        Index(
            "ix_jobs_claim",
            "run_after",
            "id",
            postgresql_where=text("status = 'queued'"),
        ),
        # Leases of crashed workers run out and their jobs are claimed again.
        Index("ix_jobs_lease", "locked_until", postgresql_where=text("status = 'running'")),
        # At most one live job per dedupe key (periodic jobs, one analysis per entry).
        Index(
            "uq_jobs_dedupe_key",
            "dedupe_key",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default=Status.QUEUED)
    attempts: Mapped[int] = mapped_column(server_default="0")
    run_after: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    locked_until: Mapped[dt.datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = base.created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
