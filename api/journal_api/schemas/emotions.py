"""Response body of `GET /api/v1/insights/emotions`: emotions and sentiment per day or week."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Bucket = Literal["day", "week"]


class RollingWindow(BaseModel):
    buckets: int = Field(description="How many buckets the rolling average spans.")
    description: str


class EmotionBucket(BaseModel):
    start: dt.date = Field(description="First local day of the bucket inside the window.")
    end: dt.date = Field(description="Last local day of the bucket inside the window.")
    entries: int = Field(description="Analysed entries written in the bucket.")
    emotions: dict[str, float] = Field(
        description="Mean score of each of the 28 GoEmotions labels over the bucket's "
        "entries (empty when there are none)."
    )
    ekman: dict[str, float] = Field(
        description="Share of the bucket's entries whose strongest emotion is each Ekman "
        "label (sums to 1; empty when there are none)."
    )
    sentiment: dict[str, int] = Field(description="Entries per sentiment label.")
    polarity: float | None = Field(description="Mean polarity of the bucket's entries.")
    polarity_rolling: float | None = Field(
        description="Entry-weighted mean polarity of this bucket and the ones before it "
        "(see `rolling_window`), entries before the window included."
    )


class EmotionTrend(BaseModel):
    """Emotion distribution and sentiment trend of the last `days` local days, in the
    user's time zone, from the per-day aggregates. An entry counts on the local day it was
    written (its `created_at` in the profile's time zone when it was first analysed);
    weeks start on Monday, and the first and last week are clipped to the window."""

    days: int
    bucket: Bucket
    timezone: str
    start_date: dt.date
    end_date: dt.date
    entries: int
    rolling_window: RollingWindow
    buckets: list[EmotionBucket] = Field(description="Oldest first; empty buckets included.")
