"""Writing insights: turn per-day activity into totals, streaks and weekday counts.

The arithmetic (`window`, `streaks`, `summarise`) is pure and takes "today" as an
argument, so it is tested without a clock or a database; `writing_insights` adds the
query and the per-user read-through cache. Called by `routes/insights.py`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Sequence

from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module
from journal_api.clients import gate
from journal_api.repositories import insights as insights_repo
from journal_api.schemas import insights as insights_schema
from journal_api.schemas import user as user_schema
from journal_api.services import user_cache
from sqlalchemy.ext.asyncio import AsyncSession

ONE_DAY = dt.timedelta(days=1)


def window(*, today: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The first and last local day (inclusive) of the last ``days`` days ending today."""
    return today - (days - 1) * ONE_DAY, today


def streaks(active: Iterable[dt.date], *, today: dt.date) -> tuple[int, int]:
    """The current and the longest run of consecutive active days.

    The current run ends today, or yesterday when nothing was written yet today (the
    streak is not broken until the day is over).

    Returns:
        (current, longest)
    """
    days = sorted(set(active))
    longest = run = 0
    previous: dt.date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == ONE_DAY else 1
        longest = max(longest, run)
        previous = day
    last_ok = previous is not None and today - previous <= ONE_DAY
    return (run if last_ok else 0), longest


def summarise(
    activity: Sequence[insights_repo.Day], *, days: int, timezone: str, today: dt.date
) -> insights_schema.WritingInsights:
    """The insights body for ``activity`` (one row per active local day in the window)."""
    start, end = window(today=today, days=days)
    per_weekday = dict.fromkeys(insights_schema.WEEKDAYS, 0)
    for row in activity:
        per_weekday[insights_schema.WEEKDAYS[row.day.weekday()]] += row.entries
    current, longest = streaks((row.day for row in activity), today=today)
    return insights_schema.WritingInsights(
        days=days,
        timezone=timezone,
        start_date=start,
        end_date=end,
        entries=sum(row.entries for row in activity),
        words=sum(row.words for row in activity),
        active_days=len(activity),
        current_streak=current,
        longest_streak=longest,
        entries_per_weekday=per_weekday,
        # Up to a row per day of a ten-year window, already typed by the query:
        # constructed without re-validation (the miss path's biggest cost in a profile).
        mood_per_day=[
            insights_schema.DayMood.model_construct(
                date=row.day, average=round(row.mood_average, 3), entries=row.mood_entries
            )
            for row in activity
            if row.mood_average is not None
        ],
    )


async def writing_insights(
    sessions: Callable[[], AsyncSession],
    cache: cache_module.Cache,
    metrics: metrics_module.Metrics,
    *,
    user: user_schema.AuthUser,
    days: int,
    now: dt.datetime,
    ttl: int,
    resource: str,
    prefetch: gate.Prefetch | None,
) -> bytes:
    """The JSON body of the user's writing insights, from the cache when fresh.

    Args:
        sessions: opens a session, only on a cache miss.
        cache: the shared Redis client.
        metrics: cache hits and misses.
        user: whose insights; `user.timezone` defines the days.
        days: window length in local days, today included.
        now: the current instant (aware).
        ttl: seconds a computed body stays cached.
        resource: the request's raw path and query (the cache key).
        prefetch: the middleware's admission read, if any (`clients/gate.py`).
    """
    zone = zoneinfo.ZoneInfo(user.timezone)
    today = now.astimezone(zone).date()
    # The zone and "today" are not in the request: a cached body is only served when
    # both match (at local midnight the window moves, so does the variant).
    cached = await user_cache.lookup(
        cache,
        metrics,
        user_id=user.id,
        resource=resource,
        prefetch=prefetch,
        variant=f"{user.timezone}|{today}",
    )
    if cached.body is not None:
        return cached.body
    start, end = window(today=today, days=days)
    async with sessions() as session:
        activity = await insights_repo.daily_activity(
            session, user_id=user.id, start=start, end=end
        )
    body = summarise(activity, days=days, timezone=user.timezone, today=today)
    payload = body.model_dump_json().encode()
    await user_cache.store(cache, cached, body=payload, ttl=ttl)
    return payload
