"""The `entry_analyses` table: what the model server found in each entry.

One row per entry, created `pending` with the entry and reset to `pending` by every
edit of its text (which also increments `revision`). The worker fills it in
(`services/analysis.py`) only if `revision` is still the one it read, so an analysis of
an older text never lands. `user_id` is a copy of the entry's owner: semantic search
filters on it next to the HNSW index, and deleting the account removes the rows
directly. Deleting the entry removes its row (`ON DELETE CASCADE`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import REAL, CheckConstraint, Date, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base

EMBEDDING_DIMENSIONS = 384


class Status:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class EntryAnalysis(base.Base):
    __tablename__ = "entry_analyses"
    # Server-set timestamps come back with INSERT/UPDATE ... RETURNING, not a reload.
    __mapper_args__ = {"eager_defaults": True}

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), server_default=Status.PENDING)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(server_default="0")
    # The 28 GoEmotions probabilities, in the order of GoEmotions' emotions.txt.
    emotion_scores: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))
    emotion_labels: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    ekman: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    polarity: Mapped[float | None] = mapped_column(REAL)
    # Deferred: only the SQL of repositories/semantic.py reads it.
    embedding: Mapped[list[float] | None] = mapped_column(
        Vector(EMBEDDING_DIMENSIONS), deferred=True
    )
    truncated: Mapped[bool] = mapped_column(server_default="false")
    model_name: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(Text)
    analyzed_at: Mapped[dt.datetime | None]
    # The local day the analysis counts toward in `emotion_days`: set by a trigger the
    # first time it is done (the entry's created_at in the user's zone), then kept.
    local_day: Mapped[dt.date | None] = mapped_column(Date)
    # The worker's crisis screen of the analysed text (`services/safety.py`): the verdict
    # and `safety.audit_details` (ids and numbers, never the text). Null: not screened.
    crisis_flagged: Mapped[bool | None]
    crisis_screening: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = base.created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status_known"),
        # Cosine k-NN for semantic search and similar entries; pgvector 0.8's iterative
        # scan keeps the per-user filter from starving the result (repositories/semantic.py).
        Index(
            "ix_entry_analyses_embedding",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        # `reanalyze` looks for analyses made by another model version.
        Index("ix_entry_analyses_model_version", "model_version"),
        # The shift and theme insights read one user's analyses of a span of local days.
        Index("ix_entry_analyses_user_id_local_day", "user_id", "local_day"),
    )
