"""The `topics` table: a user's named groups of entries.

Names are unique per user regardless of case (a functional unique index on
`lower(name)`); deleting a topic keeps its entries and clears their `topic_id`.
Read and written only through `repositories/topics.py`.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class Topic(base.Base):
    __tablename__ = "topics"
    # Server-set timestamps come back with INSERT/UPDATE ... RETURNING, not a reload.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = base.created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        Index("uq_topics_user_id_lower_name", "user_id", func.lower(name), unique=True),
    )
