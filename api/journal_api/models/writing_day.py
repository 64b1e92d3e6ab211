"""The `writing_days` table: what one user wrote on one local day, added up.

Maintained by PostgreSQL itself (triggers on `entries` and on `users.timezone`, migration
`0008_writing_days`), in the transaction of every entry write: the day is the date of
the entry's `created_at` in the user's current time zone. Nothing in Python writes it;
`repositories/insights.py` reads it for the writing insights.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class WritingDay(base.Base):
    __tablename__ = "writing_days"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    entries: Mapped[int]
    words: Mapped[int] = mapped_column(BigInteger)
    # The sum and the count of the day's moods (entries without a mood are not counted).
    mood_sum: Mapped[int] = mapped_column(BigInteger)
    mood_entries: Mapped[int]
