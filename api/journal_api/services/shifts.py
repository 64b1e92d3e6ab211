"""Shift insights: what changed significantly between a recent window and the one before.

1. `sides` reads the per-day aggregates of both windows (`emotion_days`, one row per
   day) and checks there is enough data: at least `MIN_ACTIVE_DAYS` active days and
   `MIN_ENTRIES` analysed entries in each window; otherwise nothing is tested.
2. `run_tests` tests a fixed family of eight hypotheses: mean polarity (Welch's t-test
   on the active days' mean polarity, so a day with many entries does not outweigh the
   others) and the share of entries per strongest Ekman emotion (seven pooled
   two-proportion z-tests); every p-value is two-sided and adjusted with
   Benjamini-Hochberg over the eight; a test is significant at adjusted p <= `ALPHA`.
3. `explain` puts each significant change into words, with the tags, topics and words
   over-represented in the entries that carry it (e.g. the recent entries that read
   negative) compared with the other window's entries (`services/terms.py`); only then
   are entries read, at most `MAX_ENTRIES` per window.

Pure except `shift_insights`, which adds the queries and the per-user cache. Called by
`routes/insights.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import zoneinfo
from collections import Counter
from collections.abc import Callable, Sequence

from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module
from journal_api.clients import gate
from journal_api.repositories import analysed_entries
from journal_api.repositories import emotion_days as emotion_days_repo
from journal_api.schemas import shifts as schemas
from journal_api.schemas import user as user_schema
from journal_api.services import significance, terms, user_cache
from sqlalchemy.ext.asyncio import AsyncSession

ONE_DAY = dt.timedelta(days=1)
ALPHA = 0.05
MIN_ACTIVE_DAYS, MIN_ENTRIES = 5, 10
MAX_ENTRIES = 500  # per window, read only to explain a significant shift
EKMAN = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
METHOD = schemas.Method(
    polarity_test="Welch's t-test (two-sided) on the mean polarity of each active day",
    share_test="pooled two-proportion z-test (two-sided) on the share of entries whose "
    "strongest emotion is each Ekman label",
    correction="Benjamini-Hochberg over all 8 tests (false discovery rate)",
    alpha=ALPHA,
    min_active_days=MIN_ACTIVE_DAYS,
    min_entries=MIN_ENTRIES,
)


@dataclasses.dataclass(frozen=True)
class Side:
    """One window, added up from its days."""

    window: schemas.Window
    daily_polarity: list[float]
    ekman: Counter[str]


def windows(
    *, today: dt.date, recent_days: int, baseline_days: int
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(recent start, end) ending today, and (baseline start, end) just before it."""
    recent_start = today - (recent_days - 1) * ONE_DAY
    baseline_end = recent_start - ONE_DAY
    return (recent_start, today), (baseline_end - (baseline_days - 1) * ONE_DAY, baseline_end)


def side(rows: Sequence[emotion_days_repo.Day], *, start: dt.date, end: dt.date) -> Side:
    days = [row for row in rows if start <= row.day <= end and row.entries]
    entries = sum(row.entries for row in days)
    ekman: Counter[str] = Counter()
    for row in days:
        ekman.update(row.ekman_counts)
    daily = [row.polarity_sum / row.entries for row in days]
    return Side(
        window=schemas.Window(
            start_date=start,
            end_date=end,
            days=(end - start).days + 1,
            active_days=len(days),
            entries=entries,
            polarity=round(math.fsum(daily) / len(daily), 4) if daily else None,
            ekman={k: round(n / entries, 4) for k, n in sorted(ekman.items())} if entries else {},
        ),
        daily_polarity=daily,
        ekman=ekman,
    )


def shortfall(recent: Side, baseline: Side) -> str | None:
    """Why nothing can be claimed, or None when both windows have enough data."""
    missing = [
        f"the {name} window has {s.window.entries} analysed entries on {s.window.active_days} days"
        for name, s in (("recent", recent), ("baseline", baseline))
        if s.window.active_days < MIN_ACTIVE_DAYS or s.window.entries < MIN_ENTRIES
    ]
    if not missing:
        return None
    return (
        "not enough data to claim any change: " + " and ".join(missing)
        + f"; each window needs at least {MIN_ENTRIES} entries on {MIN_ACTIVE_DAYS} days"
    )  # fmt: skip


def run_tests(recent: Side, baseline: Side) -> list[schemas.Test]:
    """The eight tests, Benjamini-Hochberg adjusted."""
    polarity = significance.welch(recent.daily_polarity, baseline.daily_polarity)
    raw = [("polarity", recent.window.polarity or 0.0, baseline.window.polarity or 0.0, polarity)]
    n1, n2 = recent.window.entries, baseline.window.entries
    for label in EKMAN:
        a, b = recent.ekman[label], baseline.ekman[label]
        raw.append((f"ekman:{label}", a / n1, b / n2, significance.two_proportions(a, n1, b, n2)))
    adjusted = significance.benjamini_hochberg([r.p_value for *_, r in raw])
    return [
        schemas.Test(
            measure=measure,
            recent=round(mine, 4),
            baseline=round(theirs, 4),
            statistic=round(result.statistic, 4),
            p_value=result.p_value,
            adjusted_p_value=q,
            significant=q <= ALPHA,
        )
        for (measure, mine, theirs, result), q in zip(raw, adjusted, strict=True)
    ]


def _carriers(
    test: schemas.Test,
    recent: Sequence[analysed_entries.Analysed],
    baseline: Sequence[analysed_entries.Analysed],
) -> tuple[list[analysed_entries.Analysed], list[analysed_entries.Analysed], str]:
    """The entries that carry the change, those to compare them with, and their name."""
    up = test.recent > test.baseline
    if test.measure == "polarity":
        sign = 1 if up else -1
        group = [e for e in recent if (e.polarity or 0.0) * sign > 0] or list(recent)
        return group, list(baseline), f"recent entries that read {'positive' if up else 'negative'}"
    label = test.measure.split(":", 1)[1]
    if up:
        return [e for e in recent if e.ekman == label], list(baseline), f"recent {label} entries"
    return [e for e in baseline if e.ekman == label], list(recent), f"earlier {label} entries"


def _quoted(items: Sequence[terms.Item]) -> str:
    return ", ".join(f"“{item.name}”" for item in items)


def explain(
    test: schemas.Test,
    *,
    recent: Sequence[analysed_entries.Analysed],
    baseline: Sequence[analysed_entries.Analysed],
    windows_text: str,
) -> schemas.Shift:
    """A significant test in words, with what drives it."""
    group, other, carriers = _carriers(test, recent, baseline)
    tags = terms.over_represented([[t.lower() for t in e.tags] for e in group],
                                  [[t.lower() for t in e.tags] for e in other])  # fmt: skip
    topics = terms.over_represented([[e.topic] if e.topic else [] for e in group],
                                    [[e.topic] if e.topic else [] for e in other])  # fmt: skip
    words = terms.over_represented(
        [terms.tokens(t) for t in analysed_entries.texts(group)],
        [terms.tokens(t) for t in analysed_entries.texts(other)],
    )
    up = test.recent > test.baseline
    if test.measure == "polarity":
        headline = (
            f"Your entries read more {'positive' if up else 'negative'}: mean daily polarity "
            f"went from {test.baseline:+.2f} to {test.recent:+.2f} ({windows_text})"
        )
    else:
        label = test.measure.split(":", 1)[1]
        headline = (
            f"{'More' if up else 'Fewer'} entries read as {label}: {test.recent:.0%} of recent "
            f"entries against {test.baseline:.0%} before ({windows_text})"
        )
    found = [
        f"tagged {_quoted(tags)}" if tags else "",
        f"in the topic {_quoted(topics)}" if topics else "",
        f"mention {_quoted(words)}" if words else "",
    ]
    found = [part for part in found if part]
    drivers = (
        f"The {carriers} are, more often than the other window's, " + "; ".join(found) + "."
        if found
        else f"No tag, topic or word stands out in the {carriers}."
    )
    return schemas.Shift(
        measure=test.measure,
        direction="up" if up else "down",
        recent=test.recent,
        baseline=test.baseline,
        p_value=test.p_value,
        adjusted_p_value=test.adjusted_p_value,
        explanation=f"{headline}; p = {test.p_value:.2g}, adjusted {test.adjusted_p_value:.2g} "
        f"(alpha {ALPHA}). {drivers}",
        drivers=schemas.Drivers(
            tags=[i.name for i in tags],
            topics=[i.name for i in topics],
            terms=[i.name for i in words],
        ),
    )


async def shift_insights(
    sessions: Callable[[], AsyncSession],
    cache: cache_module.Cache,
    metrics: metrics_module.Metrics,
    *,
    user: user_schema.AuthUser,
    recent_days: int,
    baseline_days: int,
    now: dt.datetime,
    ttl: int,
    resource: str,
    prefetch: gate.Prefetch | None,
) -> bytes:
    """The JSON body of the user's shifts, from the cache when fresh (arguments as
    `services.emotions.emotion_trend`, with the two window lengths in local days)."""
    today = now.astimezone(zoneinfo.ZoneInfo(user.timezone)).date()
    cached = await user_cache.lookup(
        cache, metrics, user_id=user.id, resource=resource, prefetch=prefetch,
        variant=f"{user.timezone}|{today}",
    )  # fmt: skip
    if cached.body is not None:
        return cached.body
    (r_start, r_end), (b_start, b_end) = windows(
        today=today, recent_days=recent_days, baseline_days=baseline_days
    )
    async with sessions() as session:
        rows = await emotion_days_repo.between(session, user_id=user.id, start=b_start, end=r_end)
        recent, baseline = (
            side(rows, start=r_start, end=r_end),
            side(rows, start=b_start, end=b_end),
        )
        problem = shortfall(recent, baseline)
        tests = [] if problem else run_tests(recent, baseline)
        significant = sorted((t for t in tests if t.significant), key=lambda t: t.adjusted_p_value)
        shifts: list[schemas.Shift] = []
        if significant:
            read = {
                name: await analysed_entries.between(
                    session, user_id=user.id, start=start, end=end, limit=MAX_ENTRIES
                )
                for name, start, end in (("recent", r_start, r_end), ("baseline", b_start, b_end))
            }
            text = f"last {recent_days} days against the {baseline_days} before"
            shifts = [
                explain(t, recent=read["recent"], baseline=read["baseline"], windows_text=text)
                for t in significant
            ]
    body = schemas.ShiftsPublic(
        status="not_enough_data" if problem else "ok",
        message=problem
        or (f"{len(shifts)} significant change(s)" if shifts else "no significant change"),
        timezone=user.timezone,
        recent=recent.window,
        baseline=baseline.window,
        method=METHOD,
        tests=tests,
        shifts=shifts,
    )
    payload = body.model_dump_json().encode()
    await user_cache.store(cache, cached, body=payload, ttl=ttl)
    return payload
