"""The `emotion_days` table: what one user's analysed entries of one local day add up to.

Maintained by PostgreSQL itself (triggers on `entry_analyses`, migration
`0005_emotion_days`), in the transaction of every analysis write: a `done` analysis adds
its scores, labels and polarity to the row of its `local_day`, and the same contribution
is taken away when it is replaced, sent back to pending by an edit, or deleted. Nothing
in Python writes it; `repositories/emotion_days.py` reads it for the emotion insights.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Date, Double, ForeignKey, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class EmotionDay(base.Base):
    __tablename__ = "emotion_days"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    entries: Mapped[int] = mapped_column(server_default="0")
    # Sums of the 28 GoEmotions scores, in the order of `emotion_scores`.
    emotion_sums: Mapped[list[float]] = mapped_column(ARRAY(Double), server_default="{}")
    # Entries per top Ekman label and per sentiment label ({"joy": 2}); zeros are absent.
    ekman_counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    sentiment_counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    polarity_sum: Mapped[float] = mapped_column(Double, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
