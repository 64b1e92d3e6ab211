"""Topics, journal entries (full-text + trigram search, room for embeddings), search terms.

Revision ID: 0002_entries
Revises: 0001_auth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0002_entries"
down_revision = "0001_auth"
branch_labels = None
depends_on = None

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector(language, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector(language, content), 'B')"
)


def upgrade() -> None:
    # 0001_auth creates the extensions; repeated here so this revision stands on its own.
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "topics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_topics_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
    )
    op.create_index(
        "uq_topics_user_id_lower_name", "topics", ["user_id", sa.text("lower(name)")], unique=True
    )

    op.create_table(
        "entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("topic_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("mood", sa.SmallInteger(), nullable=True),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("is_favorite", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("word_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "language",
            postgresql.REGCONFIG(),
            server_default=sa.text("'english'::regconfig"),
            nullable=False,
        ),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_VECTOR_SQL, persisted=True),
            nullable=False,
        ),
        sa.Column("embedding", Vector(384), nullable=True),
        sa.Column("embedding_model", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("mood BETWEEN -2 AND 2", name="ck_entries_mood_range"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_entries_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name="fk_entries_topic_id_topics", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
    )
    op.create_index("ix_entries_topic_id", "entries", ["topic_id"])
    op.create_index(
        "ix_entries_user_id_keyset", "entries", ["user_id", "entry_date", "created_at", "id"]
    )
    op.create_index(
        "ix_entries_user_id_created_at",
        "entries",
        ["user_id", "created_at"],
        postgresql_include=["word_count", "mood"],
    )
    op.create_index("ix_entries_tags", "entries", ["tags"], postgresql_using="gin")
    op.create_index("ix_entries_search_vector", "entries", ["search_vector"], postgresql_using="gin")

    op.create_table(
        "search_terms",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("word", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_search_terms_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "word", name="pk_search_terms"),
    )
    op.create_index(
        "ix_search_terms_word_trgm",
        "search_terms",
        ["word"],
        postgresql_using="gin",
        postgresql_ops={"word": "gin_trgm_ops"},
    )

    # AND/OR over a set of tsqueries; the search query ORs each word with its typo
    # corrections and ANDs the words, without building tsquery text by hand.
    op.execute("CREATE AGGREGATE journal_tsquery_or(tsquery) (SFUNC = tsquery_or, STYPE = tsquery)")
    op.execute("CREATE AGGREGATE journal_tsquery_and(tsquery) (SFUNC = tsquery_and, STYPE = tsquery)")


def downgrade() -> None:
    op.execute("DROP AGGREGATE IF EXISTS journal_tsquery_and(tsquery)")
    op.execute("DROP AGGREGATE IF EXISTS journal_tsquery_or(tsquery)")
    op.drop_table("search_terms")
    op.drop_table("entries")
    op.drop_table("topics")
