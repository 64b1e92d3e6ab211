"""Entry analyses: emotions, sentiment and an HNSW-indexed embedding per entry.

Replaces the unused `entries.embedding`/`embedding_model` placeholders with the
`entry_analyses` table, and queues an `entry.analyze` job for every existing entry, so
entries written before this release are analysed by the worker too.

Revision ID: 0004_analysis
Revises: 0003_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0004_analysis"
down_revision = "0003_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_analyses",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), server_default="0", nullable=False),
        sa.Column("emotion_scores", postgresql.ARRAY(sa.REAL()), nullable=True),
        sa.Column("emotion_labels", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("ekman", sa.String(16), nullable=True),
        sa.Column("sentiment", sa.String(16), nullable=True),
        sa.Column("polarity", sa.REAL(), nullable=True),
        sa.Column("embedding", Vector(384), nullable=True),
        sa.Column("truncated", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("model_name", sa.Text(), nullable=True),
        sa.Column("model_version", sa.Text(), nullable=True),
        sa.Column("analyzed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed')", name="ck_entry_analyses_status_known"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_entry_analyses_entry_id_entries", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_entry_analyses_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("entry_id", name="pk_entry_analyses"),
    )
    op.create_index("ix_entry_analyses_user_id", "entry_analyses", ["user_id"])
    op.create_index("ix_entry_analyses_model_version", "entry_analyses", ["model_version"])
    op.create_index(
        "ix_entry_analyses_embedding",
        "entry_analyses",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_column("entries", "embedding")
    op.drop_column("entries", "embedding_model")

    # Entries written before this revision: pending analyses, one live job each.
    op.execute(
        "INSERT INTO entry_analyses (entry_id, user_id) SELECT id, user_id FROM entries"
    )
    op.execute(
        """
        INSERT INTO jobs (id, kind, user_id, payload, dedupe_key)
        SELECT gen_random_uuid(), 'entry.analyze', user_id,
               jsonb_build_object('entry_id', id), 'entry.analyze:' || id
        FROM entries
        ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE kind = 'entry.analyze'")
    op.add_column("entries", sa.Column("embedding_model", sa.Text(), nullable=True))
    op.add_column("entries", sa.Column("embedding", Vector(384), nullable=True))
    op.drop_table("entry_analyses")
