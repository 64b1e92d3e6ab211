"""SQL for writing insights: a user's entries aggregated per local calendar day.

The day of an entry is the date of its `created_at` in the user's time zone. The sums
per day are kept by the database in `writing_days` (migration `0008_writing_days`) as
entries are written, so a request reads one row per active day of its window, never
the entries themselves. Called by `services/insights.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_DAILY_SQL = text(
    """
    SELECT day, entries, words,
           CASE WHEN mood_entries > 0 THEN mood_sum::float8 / mood_entries END AS mood_average,
           mood_entries
    FROM writing_days
    WHERE user_id = :user_id AND day BETWEEN :start AND :end
    ORDER BY day
    """
)


@dataclasses.dataclass(frozen=True)
class Day:
    """What the user wrote on one local day."""

    day: dt.date
    entries: int
    words: int
    mood_average: float | None
    mood_entries: int


async def daily_activity(
    session: AsyncSession, *, user_id: uuid.UUID, start: dt.date, end: dt.date
) -> list[Day]:
    """Per local day in [start, end] (the user's zone), what the user wrote, oldest first.

    Args:
        session: the request's session.
        user_id: whose entries.
        start: first local day, inclusive.
        end: last local day, inclusive.
    """
    result = await session.execute(_DAILY_SQL, {"user_id": user_id, "start": start, "end": end})
    # Plain tuples: cheaper than named-row attribute access over a year of days.
    return [
        Day(day, int(entries), int(words), mood_average, int(mood_entries))
        for day, entries, words, mood_average, mood_entries in result
    ]
