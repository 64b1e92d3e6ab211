"""Reads `emotion_days`, the per-day emotion aggregates PostgreSQL keeps (migration
`0005_emotion_days`), and recomputes them from `entry_analyses` for a consistency check.

Called by `services/emotions.py` and `services/shifts.py`: an insight over months reads
at most one row per local day, never the entries. `recount` is what the aggregates must
equal at any moment (used by the tests and worth running by hand after an incident).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_DAYS_SQL = text(
    """
    SELECT day, entries, emotion_sums, ekman_counts, sentiment_counts, polarity_sum
    FROM emotion_days
    WHERE user_id = :user_id AND day BETWEEN :start AND :end
    ORDER BY day
    """
)

# What `emotion_days` holds for a user, computed from scratch.
_RECOUNT_SQL = text(
    """
    WITH done AS (
      SELECT local_day AS day, emotion_scores, ekman, sentiment, polarity
      FROM entry_analyses
      WHERE user_id = :user_id AND status = 'done' AND local_day IS NOT NULL
    ), sums AS (
      SELECT day, array_agg(total ORDER BY i) AS emotion_sums
      FROM (SELECT d.day, t.i, sum(t.x::float8) AS total
            FROM done d, unnest(d.emotion_scores) WITH ORDINALITY AS t(x, i)
            GROUP BY d.day, t.i) per_label
      GROUP BY day
    )
    SELECT d.day, count(*) AS entries, coalesce(s.emotion_sums, '{}') AS emotion_sums,
           (SELECT coalesce(jsonb_object_agg(ekman, n), '{}') FROM (
              SELECT ekman, count(*) AS n FROM done x
              WHERE x.day = d.day AND ekman IS NOT NULL GROUP BY ekman) e) AS ekman_counts,
           (SELECT coalesce(jsonb_object_agg(sentiment, n), '{}') FROM (
              SELECT sentiment, count(*) AS n FROM done x
              WHERE x.day = d.day AND sentiment IS NOT NULL GROUP BY sentiment) e)
             AS sentiment_counts,
           coalesce(sum(d.polarity::float8), 0) AS polarity_sum
    FROM done d LEFT JOIN sums s USING (day)
    GROUP BY d.day, s.emotion_sums
    ORDER BY d.day
    """
)


@dataclasses.dataclass(frozen=True)
class Day:
    """One local day's analysed entries, added up."""

    day: dt.date
    entries: int
    emotion_sums: tuple[float, ...]  # GoEmotions order (`schemas.analysis.EMOTIONS`)
    ekman_counts: dict[str, int]
    sentiment_counts: dict[str, int]
    polarity_sum: float


def _day(row: Any) -> Day:
    return Day(
        day=row.day,
        entries=int(row.entries),
        emotion_sums=tuple(float(x) for x in row.emotion_sums or ()),
        ekman_counts={k: int(v) for k, v in (row.ekman_counts or {}).items()},
        sentiment_counts={k: int(v) for k, v in (row.sentiment_counts or {}).items()},
        polarity_sum=float(row.polarity_sum),
    )


async def between(
    session: AsyncSession, *, user_id: uuid.UUID, start: dt.date, end: dt.date
) -> list[Day]:
    """The user's days with analysed entries in [start, end] (local days), oldest first."""
    rows = await session.execute(_DAYS_SQL, {"user_id": user_id, "start": start, "end": end})
    return [_day(row) for row in rows]


async def recount(session: AsyncSession, *, user_id: uuid.UUID) -> list[Day]:
    """What `emotion_days` must hold for the user, recomputed from `entry_analyses`."""
    return [_day(row) for row in await session.execute(_RECOUNT_SQL, {"user_id": user_id})]
