"""The `entries` table (journal entries) and `search_terms` (each user's vocabulary).

`search_vector` is a stored generated column: the title weighted A and the content
weighted B, parsed with the entry's own `language` text-search configuration, under a
GIN index. `search_terms` holds every distinct word a user has written (unstemmed,
lower-case) under a trigram index, so a typo in a search query can be corrected to a
word the user actually used (the approach the pg_trgm documentation recommends; a
trigram scan over whole entry bodies does not scale to 100k entries).
Each entry has one `entry_analyses` row (`models/analysis.py`), loaded with it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from journal_api.models import analysis as analysis_model
from journal_api.models import base

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector(language, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector(language, content), 'B')"
)


class Entry(base.Base):
    __tablename__ = "entries"
    # Server-set timestamps come back with INSERT/UPDATE ... RETURNING, not a reload.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("topics.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    mood: Mapped[int | None] = mapped_column(SmallInteger)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    is_favorite: Mapped[bool] = mapped_column(server_default="false")
    word_count: Mapped[int] = mapped_column(server_default="0")
    language: Mapped[str] = mapped_column(REGCONFIG, server_default=text("'english'::regconfig"))
    # Deferred: never loaded with an entry (only SQL in repositories/search.py reads them).
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), deferred=True
    )
    created_at: Mapped[dt.datetime] = base.created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Joined: every read of an entry shows its analysis (one LEFT JOIN on a primary key).
    # The database deletes it with the entry (ON DELETE CASCADE), hence passive_deletes.
    analysis: Mapped[analysis_model.EntryAnalysis | None] = relationship(
        lazy="joined", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("mood BETWEEN -2 AND 2", name="mood_range"),
        # The keyset order of GET /entries, read backwards: (entry_date, created_at, id) DESC.
        Index("ix_entries_user_id_keyset", "user_id", "entry_date", "created_at", "id"),
        # Writing insights aggregate by local day of created_at: an index-only scan.
        Index(
            "ix_entries_user_id_created_at",
            "user_id",
            "created_at",
            postgresql_include=["word_count", "mood"],
        ),
        Index("ix_entries_tags", "tags", postgresql_using="gin"),
        Index("ix_entries_search_vector", "search_vector", postgresql_using="gin"),
    )


class SearchTerm(base.Base):
    __tablename__ = "search_terms"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    word: Mapped[str] = mapped_column(Text, primary_key=True)

    __table_args__ = (
        Index(
            "ix_search_terms_word_trgm",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )
