"""Writing insights: totals, streaks, weekdays and mood per day, with days counted in
the user's own time zone; plus the pure streak arithmetic."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

import httpx
import pytest
from journal_api import settings as settings_module
from journal_api.schemas import insights as insights_schema
from journal_api.services import insights
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.journal_api.conftest import MakeUser, TestUser

INSIGHTS = "/api/v1/insights/writing"
D = dt.date


async def write_at(
    client: httpx.AsyncClient,
    user: TestUser,
    settings: settings_module.Settings,
    *,
    at: dt.datetime,
    content: str = "one two three",
    mood: int | None = None,
) -> None:
    """Write an entry through the API, then move its `created_at` to ``at``."""
    response = await client.post(
        "/api/v1/entries", json={"content": content, "mood": mood}, headers=user.headers
    )
    assert response.status_code == 201
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE entries SET created_at = :at WHERE id = :id"),
            {"at": at, "id": uuid.UUID(response.json()["id"])},
        )
    await engine.dispose()


async def insights_of(client: httpx.AsyncClient, user: TestUser, days: int = 30) -> dict[str, Any]:
    response = await client.get(INSIGHTS, params={"days": days}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("timezone", "day_offsets"),
    [
        # Both instants are around midnight UTC three days ago.
        ("UTC", {-1: 1, 0: 1}),  # 23:30 the day before and 00:30: two days
        ("America/Los_Angeles", {-1: 2}),  # afternoon of the day before: one day
        ("Asia/Tokyo", {0: 2}),  # morning of that day: one day
    ],
)
async def test_days_are_counted_in_the_users_timezone(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    api_settings: settings_module.Settings,
    timezone: str,
    day_offsets: dict[int, int],
) -> None:
    """Keys of ``day_offsets`` are local days relative to the UTC date of that midnight."""
    user = await make_user(timezone=timezone)
    midnight_utc = dt.datetime.combine(
        dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3), dt.time(), tzinfo=dt.UTC
    )
    for delta, mood in ((dt.timedelta(minutes=-30), 2), (dt.timedelta(minutes=30), -1)):
        await write_at(client, user, api_settings, at=midnight_utc + delta, mood=mood)
    body = await insights_of(client, user)

    day_zero = midnight_utc.date()
    expected_days = {day_zero + dt.timedelta(days=k): n for k, n in day_offsets.items()}
    assert (body["entries"], body["words"]) == (2, 6)
    assert body["active_days"] == len(expected_days)
    assert body["longest_streak"] == len(expected_days)
    assert body["current_streak"] == 0
    weekdays = {insights_schema.WEEKDAYS[day.weekday()]: n for day, n in expected_days.items()}
    assert {k: v for k, v in body["entries_per_weekday"].items() if v} == weekdays
    moods = {m["date"]: m["average"] for m in body["mood_per_day"]}
    if len(expected_days) == 1:
        assert moods == {next(iter(expected_days)).isoformat(): 0.5}
    else:
        assert moods == {
            (day_zero - dt.timedelta(days=1)).isoformat(): 2.0,
            day_zero.isoformat(): -1.0,
        }


async def test_current_and_longest_streak(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    api_settings: settings_module.Settings,
) -> None:
    zone = zoneinfo.ZoneInfo("America/Los_Angeles")
    user = await make_user(timezone="America/Los_Angeles")
    today = dt.datetime.now(zone).date()
    # Active: today, yesterday (current streak 2) and 5..7 days ago (longest 3).
    for days_ago in (0, 1, 5, 6, 7):
        local_noon = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(12), zone)
        await write_at(client, user, api_settings, at=local_noon)
    body = await insights_of(client, user, days=30)
    assert (body["current_streak"], body["longest_streak"], body["active_days"]) == (2, 3, 5)
    assert body["end_date"] == today.isoformat()
    assert body["start_date"] == (today - dt.timedelta(days=29)).isoformat()

    # A 3-day window sees only today and yesterday.
    short = await insights_of(client, user, days=3)
    assert (short["entries"], short["longest_streak"]) == (2, 2)


async def test_insights_ignore_other_users(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    writer, reader = await make_user(), await make_user()
    await client.post("/api/v1/entries", json={"content": "hello"}, headers=writer.headers)
    body = await insights_of(client, reader)
    assert (body["entries"], body["active_days"], body["mood_per_day"]) == (0, 0, [])


@pytest.mark.parametrize("days", ["0", "3651", "-1", str(10**20), "week"])
async def test_days_out_of_range_is_422_naming_days(
    client: httpx.AsyncClient, make_user: MakeUser, days: str
) -> None:
    user = await make_user()
    response = await client.get(INSIGHTS, params={"days": days}, headers=user.headers)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"days"}


@pytest.mark.parametrize(
    ("active", "today", "expected"),
    [
        ([], D(2026, 1, 10), (0, 0)),
        ([D(2026, 1, 10)], D(2026, 1, 10), (1, 1)),
        ([D(2026, 1, 9)], D(2026, 1, 10), (1, 1)),  # today not written yet: still alive
        ([D(2026, 1, 8)], D(2026, 1, 10), (0, 1)),
        ([D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3), D(2026, 1, 9), D(2026, 1, 10)],
         D(2026, 1, 10), (2, 3)),
        ([D(2026, 2, 28), D(2026, 3, 1), D(2026, 3, 1)], D(2026, 3, 1), (2, 2)),
    ],
)  # fmt: skip
def test_streaks(active: list[dt.date], today: dt.date, expected: tuple[int, int]) -> None:
    assert insights.streaks(active, today=today) == expected
