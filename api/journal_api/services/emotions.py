"""Emotion insights: per-day aggregates folded into day or week buckets with a rolling
sentiment average.

`trend` is pure (rows of `emotion_days` in, the body out); `emotion_trend` adds the
query and the per-user cache. Only `emotion_days` is read: at most one row per local
day, never the entries. Called by `routes/insights.py`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import numpy.typing as npt
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


def bucket_start(day: dt.date, bucket: schemas.Bucket) -> dt.date:
    """The first day of ``day``'s bucket (weeks start on Monday)."""
    return day if bucket == "day" else day - day.weekday() * ONE_DAY


def first_needed(start: dt.date, bucket: schemas.Bucket) -> dt.date:
    """The earliest day the rolling average of the window's first bucket reads."""
    return bucket_start(start, bucket) - (ROLLING[bucket] - 1) * _STEP[bucket] * ONE_DAY


def _rounded(values: npt.NDArray[np.float64]) -> list[list[float]]:
    return cast("list[list[float]]", np.round(values, 4).tolist())


def trend(
    rows: Sequence[emotion_days_repo.Day],
    *,
    start: dt.date,
    end: dt.date,
    bucket: schemas.Bucket,
    timezone: str,
) -> schemas.EmotionTrend:
    """The body for ``rows`` (days from `first_needed` to ``end``).

    A year of days is summed per bucket with numpy (a row per day, a column per emotion):
    this runs on every cache miss, so it must not loop over 28 labels per day in Python.
    """
    step = _STEP[bucket]
    window = ROLLING[bucket]
    first = bucket_start(start, bucket)
    count = (end - first).days // step + 1
    # Bucket b of the window is slot b + window - 1; the slots before it hold the days
    # that only feed the first buckets' rolling average.
    slots = count + window - 1
    labels = len(analysis_schema.EMOTIONS)
    slot = np.array(
        [(bucket_start(row.day, bucket) - first).days // step + window - 1 for row in rows],
        dtype=np.int64,
    )
    day_entries = np.array([row.entries for row in rows], dtype=np.float64)
    day_polarity = np.array([row.polarity_sum for row in rows], dtype=np.float64)
    kept = (slot >= 0) & (slot < slots)
    whole_entries = np.bincount(slot[kept], day_entries[kept], minlength=slots)
    whole_polarity = np.bincount(slot[kept], day_polarity[kept], minlength=slots)
    inside = np.array([start <= row.day <= end for row in rows], dtype=bool) & kept
    index = slot[inside] - (window - 1)
    entries = np.bincount(index, day_entries[inside], minlength=count)
    polarity = np.bincount(index, day_polarity[inside], minlength=count)
    day_sums = np.zeros((len(rows), labels))
    for i, row in enumerate(rows):
        day_sums[i, : len(row.emotion_sums)] = row.emotion_sums
    sums = np.zeros((count, labels))
    np.add.at(sums, index, day_sums[inside])
    ekman: list[dict[str, int]] = [{} for _ in range(count)]
    sentiment: list[dict[str, int]] = [{} for _ in range(count)]
    counted = [row for row, keep in zip(rows, inside.tolist(), strict=True) if keep]
    for b, row in zip(index.tolist(), counted, strict=True):
        for target, counts in ((ekman[b], row.ekman_counts), (sentiment[b], row.sentiment_counts)):
            for label, n in counts.items():
                target[label] = target.get(label, 0) + n
    with np.errstate(invalid="ignore", divide="ignore"):
        means = _rounded(sums / entries[:, None])
    # Rolling sums over `window` slots: the bucket's own and the window - 1 before it.
    kernel = np.ones(window)
    rolling_entries = np.convolve(whole_entries, kernel, mode="valid")
    rolling_polarity = np.convolve(whole_polarity, kernel, mode="valid")
    buckets = []
    for b in range(count):
        key = first + b * step * ONE_DAY
        n = int(entries[b])
        buckets.append(
            # Built from checked numbers: validation would only cost time.
            schemas.EmotionBucket.model_construct(
                start=max(key, start),
                end=min(key + (step - 1) * ONE_DAY, end),
                entries=n,
                emotions=dict(zip(analysis_schema.EMOTIONS, means[b], strict=True)) if n else {},
                ekman={label: round(c / n, 4) for label, c in sorted(ekman[b].items())}
                if n
                else {},
                sentiment=dict(sorted(sentiment[b].items())),
                polarity=round(float(polarity[b]) / n, 4) if n else None,
                polarity_rolling=round(float(rolling_polarity[b] / rolling_entries[b]), 4)
                if rolling_entries[b]
                else None,
            )
        )
    unit = "days" if bucket == "day" else "weeks"
    return schemas.EmotionTrend(
        days=(end - start).days + 1,
        bucket=bucket,
        timezone=timezone,
        start_date=start,
        end_date=end,
        entries=int(entries.sum()),
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
