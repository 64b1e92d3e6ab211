"""SQL for writing insights: a user's entries aggregated per local calendar day.

The day of an entry is the date of its `created_at` in the user's time zone, computed
by PostgreSQL (`AT TIME ZONE`), so the aggregation runs where the rows are and returns
at most one row per day; the index on (user_id, created_at) INCLUDE (word_count, mood)
makes it an index-only scan. Called by `services/insights.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_DAILY_SQL = text(
    """
    SELECT (created_at AT TIME ZONE :tz)::date AS day,
           count(*) AS entries,
           coalesce(sum(word_count), 0) AS words,
           avg(mood)::float8 AS mood_average,
           count(mood) AS mood_entries
    FROM entries
    WHERE user_id = :user_id AND created_at >= :since AND created_at < :until
    GROUP BY day
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
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    timezone: str,
    since: dt.datetime,
    until: dt.datetime,
) -> list[Day]:
    """Per local day, the user's entries written in [since, until), oldest day first.

    Args:
        session: the request's session.
        user_id: whose entries.
        timezone: IANA zone that defines the local day.
        since: aware instant, inclusive.
        until: aware instant, exclusive.
    """
    result = await session.execute(
        _DAILY_SQL, {"tz": timezone, "user_id": user_id, "since": since, "until": until}
    )
    # Plain tuples: cheaper than named-row attribute access over a year of days.
    return [
        Day(day, int(entries), int(words), mood_average, int(mood_entries))
        for day, entries, words, mood_average, mood_entries in result
    ]
