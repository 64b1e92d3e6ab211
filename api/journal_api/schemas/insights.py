"""Response body of `GET /api/v1/insights/writing`: writing habits in the user's timezone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

INSIGHTS_EXAMPLE: dict[str, Any] = {
    "days": 7,
    "timezone": "America/Los_Angeles",
    "start_date": "2026-11-14",
    "end_date": "2026-11-20",
    "entries": 9,
    "words": 2140,
    "active_days": 6,
    "current_streak": 4,
    "longest_streak": 4,
    "entries_per_weekday": {
        "monday": 1,
        "tuesday": 2,
        "wednesday": 1,
        "thursday": 2,
        "friday": 1,
        "saturday": 2,
        "sunday": 0,
    },
    "mood_per_day": [{"date": "2026-11-20", "average": 1.5, "entries": 2}],
}


class DayMood(BaseModel):
    date: dt.date
    average: float = Field(description="Mean self-reported mood (-2..2) of that day's entries.")
    entries: int = Field(description="Entries that day that reported a mood.")


class WritingInsights(BaseModel):
    """Counts over the last `days` local days, today included.

    A day is a calendar day in the user's profile timezone; an entry belongs to the
    local day it was written (`created_at`). Streaks are runs of consecutive active days
    inside the window; the current streak ends today, or yesterday if today has no entry
    yet.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [INSIGHTS_EXAMPLE]})

    days: int
    timezone: str
    start_date: dt.date
    end_date: dt.date
    entries: int
    words: int
    active_days: int
    current_streak: int
    longest_streak: int
    entries_per_weekday: dict[str, int] = Field(description="Keys are monday … sunday.")
    mood_per_day: list[DayMood] = Field(
        description="Only days with at least one mood, oldest first."
    )
