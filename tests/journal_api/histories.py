"""Journal histories for the insight tests: entries written on chosen local days, analysed
by the real worker and model server, and the per-day aggregates read back.

`write_on` posts an entry through the API and moves its `created_at` to a local time of a
chosen day in the user's zone before the worker first analyses it (the moment its day is
fixed), so weeks of history take seconds to build.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module
from journal_api.repositories import emotion_days
from sqlalchemy import text

from tests.journal_api.conftest import TestUser, analysis_worker, drain

ENTRIES = "/api/v1/entries"


def today_in(zone: str) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()


async def write_on(
    client: httpx.AsyncClient,
    app: FastAPI,
    user: TestUser,
    *,
    content: str,
    day: dt.date,
    zone: str,
    at: dt.time = dt.time(12, 0),
    fields: dict[str, Any] | None = None,
) -> str:
    """An entry written at local time ``at`` of ``day`` in ``zone`` (with more ``fields``
    of the request body); returns its id."""
    body = {"content": content, "entry_date": day.isoformat(), **(fields or {})}
    response = await client.post(ENTRIES, json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    entry_id = str(response.json()["id"])
    written = dt.datetime.combine(day, at, tzinfo=zoneinfo.ZoneInfo(zone))
    async with app.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE entries SET created_at = :at WHERE id = :id"),
            {"at": written, "id": uuid.UUID(entry_id)},
        )
        await session.commit()
    return entry_id


async def analyse_all(settings: settings_module.Settings, app: FastAPI) -> None:
    async with analysis_worker(settings, app) as worker:
        await drain(worker)


async def stored_days(app: FastAPI, user: TestUser) -> list[emotion_days.Day]:
    async with app.state.sessionmaker() as session:
        return await emotion_days.between(
            session, user_id=user.id, start=dt.date(1900, 1, 1), end=dt.date(9999, 1, 1)
        )


async def recounted_days(app: FastAPI, user: TestUser) -> list[emotion_days.Day]:
    async with app.state.sessionmaker() as session:
        return await emotion_days.recount(session, user_id=user.id)


def assert_same_days(got: list[emotion_days.Day], want: list[emotion_days.Day]) -> None:
    """Equal up to float rounding of the sums (added and subtracted in another order)."""
    assert [(d.day, d.entries, d.ekman_counts, d.sentiment_counts) for d in got] == [
        (d.day, d.entries, d.ekman_counts, d.sentiment_counts) for d in want
    ]
    for mine, theirs in zip(got, want, strict=True):
        assert abs(mine.polarity_sum - theirs.polarity_sum) < 1e-4
        assert len(mine.emotion_sums) == len(theirs.emotion_sums) == 28
        assert (
            max(abs(a - b) for a, b in zip(mine.emotion_sums, theirs.emotion_sums, strict=False))
            < 1e-4
        )
