"""Emotion insights: per-day aggregates folded into day or week buckets with a rolling
sentiment average.

`trend` is pure (rows of `emotion_days` in, the body out); `emotion_trend` adds the
query and the per-user cache. Only `emotion_days` is read: at most one row per local
day, never the entries. Called by `routes/insights.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence

from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module
from journal_api.clients import gate
from journal_api.repositories import emotion_days as emotion_days_repo
from journal_api.schemas import analysis as analysis_schema
from journal_api.schemas import emotions as schemas
from journal_api.schemas import user as user_schema
from journal_api.services import insights, user_cache
from sqlalchemy.ext.asyncio import AsyncSession

ONE_DAY = dt.timedelta(days=1)
# The rolling average spans a week of days, or four weeks.
ROLLING = {"day": 7, "week": 4}
_STEP = {"day": 1, "week": 7}


@dataclasses.dataclass
class _Totals:
    entries: int = 0
    polarity: float = 0.0
    sums: list[float] = dataclasses.field(default_factory=list)
    ekman: dict[str, int] = dataclasses.field(default_factory=dict)
    sentiment: dict[str, int] = dataclasses.field(default_factory=dict)

    def add(self, day: emotion_days_repo.Day) -> None:
        self.entries += day.entries
        self.polarity += day.polarity_sum
        if len(self.sums) < len(day.emotion_sums):
            self.sums.extend([0.0] * (len(day.emotion_sums) - len(self.sums)))
        for i, value in enumerate(day.emotion_sums):
            self.sums[i] += value
        for target, counts in (
            (self.ekman, day.ekman_counts),
            (self.sentiment, day.sentiment_counts),
        ):
            for label, n in counts.items():
                target[label] = target.get(label, 0) + n


def bucket_start(day: dt.date, bucket: schemas.Bucket) -> dt.date:
    """The first day of ``day``'s bucket (weeks start on Monday)."""
    return day if bucket == "day" else day - day.weekday() * ONE_DAY


def first_needed(start: dt.date, bucket: schemas.Bucket) -> dt.date:
    """The earliest day the rolling average of the window's first bucket reads."""
    return bucket_start(start, bucket) - (ROLLING[bucket] - 1) * _STEP[bucket] * ONE_DAY


def _bucket(
    totals: _Totals, *, start: dt.date, end: dt.date, rolling: float | None
) -> schemas.EmotionBucket:
    n = totals.entries
    return schemas.EmotionBucket(
        start=start,
        end=end,
        entries=n,
        emotions=(
            {
                label: round(s / n, 4)
                for label, s in zip(analysis_schema.EMOTIONS, totals.sums, strict=False)
            }
            if n
            else {}
        ),
        ekman={label: round(c / n, 4) for label, c in sorted(totals.ekman.items())} if n else {},
        sentiment=dict(sorted(totals.sentiment.items())),
        polarity=round(totals.polarity / n, 4) if n else None,
        polarity_rolling=rolling,
    )


def trend(
    rows: Sequence[emotion_days_repo.Day],
    *,
    start: dt.date,
    end: dt.date,
    bucket: schemas.Bucket,
    timezone: str,
) -> schemas.EmotionTrend:
    """The body for ``rows`` (days from `first_needed` to ``end``)."""
    step = _STEP[bucket] * ONE_DAY
    window = ROLLING[bucket]
    inside: dict[dt.date, _Totals] = {}  # the bucket's days inside [start, end]
    whole: dict[dt.date, _Totals] = {}  # all its days, for the rolling average
    for row in rows:
        key = bucket_start(row.day, bucket)
        whole.setdefault(key, _Totals()).add(row)
        if start <= row.day <= end:
            inside.setdefault(key, _Totals()).add(row)
    buckets = []
    key = bucket_start(start, bucket)
    while key <= end:
        span = [whole.get(key - i * step) for i in range(window)]
        entries = sum(t.entries for t in span if t)
        rolling = round(sum(t.polarity for t in span if t) / entries, 4) if entries else None
        buckets.append(
            _bucket(
                inside.get(key, _Totals()),
                start=max(key, start),
                end=min(key + step - ONE_DAY, end),
                rolling=rolling,
            )
        )
        key += step
    unit = "days" if bucket == "day" else "weeks"
    return schemas.EmotionTrend(
        days=(end - start).days + 1,
        bucket=bucket,
        timezone=timezone,
        start_date=start,
        end_date=end,
        entries=sum(b.entries for b in buckets),
        rolling_window=schemas.RollingWindow(
            buckets=window,
            description=f"entry-weighted mean polarity over this bucket and the {window - 1} "
            f"before it ({window} {unit}), entries before the window included",
        ),
        buckets=buckets,
    )


async def emotion_trend(
    sessions: Callable[[], AsyncSession],
    cache: cache_module.Cache,
    metrics: metrics_module.Metrics,
    *,
    user: user_schema.AuthUser,
    days: int,
    bucket: schemas.Bucket,
    now: dt.datetime,
    ttl: int,
    resource: str,
    prefetch: gate.Prefetch | None,
) -> bytes:
    """The JSON body of the user's emotion trend, from the cache when fresh.

    Args:
        sessions: opens a session, only on a cache miss.
        cache: the shared Redis client.
        metrics: cache hits and misses.
        user: whose insights; `user.timezone` defines today.
        days: window length in local days, today included.
        bucket: `day` or `week`.
        now: the current instant (aware).
        ttl: seconds a computed body stays cached.
        resource: the request's raw path and query (the cache key).
        prefetch: the middleware's admission read, if any (`clients/gate.py`).
    """
    today = now.astimezone(zoneinfo.ZoneInfo(user.timezone)).date()
    cached = await user_cache.lookup(
        cache, metrics, user_id=user.id, resource=resource, prefetch=prefetch,
        variant=f"{user.timezone}|{today}",
    )  # fmt: skip
    if cached.body is not None:
        return cached.body
    start, end = insights.window(today=today, days=days)
    async with sessions() as session:
        rows = await emotion_days_repo.between(
            session, user_id=user.id, start=first_needed(start, bucket), end=end
        )
    body = trend(rows, start=start, end=end, bucket=bucket, timezone=user.timezone)
    payload = body.model_dump_json().encode()
    await user_cache.store(cache, cached, body=payload, ttl=ttl)
    return payload
