"""The per-day emotion aggregates (`emotion_days`) with the real worker, model server and
PostgreSQL: after the first analysis, an edit (counted out at once, back in when analysed
again), a re-analysis of the same text (not counted twice, and on the same day even after
the profile's zone changed) and a delete, the days equal a recount from `entry_analyses`.
"""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module
from sqlalchemy import text

from tests.journal_api import histories
from tests.journal_api.conftest import MakeUser, TestUser

ZONE = "Asia/Tokyo"
TEXTS = (
    "We won the match in the last minute and celebrated with the whole team.",
    "My grandmother is in hospital again and I am scared of what the doctors will say.",
    "The landlord ignored the broken heating for a third week and I am furious.",
)
EDITED = "Quiet evening with tea and a good book; nothing much happened."


async def requeue(app: FastAPI, user: TestUser) -> None:
    """What `reanalyze` does: one analysis job per entry, the analyses left as they are."""
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO jobs (id, kind, user_id, payload, dedupe_key) "
                "SELECT gen_random_uuid(), 'entry.analyze', user_id, "
                "jsonb_build_object('entry_id', entry_id), 'entry.analyze:' || entry_id "
                "FROM entry_analyses WHERE user_id = :user_id"
            ),
            {"user_id": user.id},
        )
        await session.commit()


async def assert_consistent(
    app: FastAPI, user: TestUser, expected: list[tuple[dt.date, int]]
) -> None:
    days = await histories.stored_days(app, user)
    assert [(d.day, d.entries) for d in days] == expected
    histories.assert_same_days(days, await histories.recounted_days(app, user))


async def test_days_stay_exact_through_edit_reanalysis_and_delete(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user(timezone=ZONE)
    day = histories.today_in(ZONE) - dt.timedelta(days=3)
    # 00:30 in Tokyo is the previous day in UTC: it still counts on the local day.
    ids = [
        await histories.write_on(
            analysis_client, analysis_app, user, content=content, day=day, zone=ZONE, at=at
        )
        for content, at in zip(TEXTS, (dt.time(0, 30), dt.time(12), dt.time(23, 30)), strict=True)
    ]
    earlier = await histories.write_on(
        analysis_client, analysis_app, user, content=TEXTS[0], day=day - dt.timedelta(days=1),
        zone=ZONE,
    )  # fmt: skip
    await histories.analyse_all(analysis_settings, analysis_app)
    await assert_consistent(analysis_app, user, [(day - dt.timedelta(days=1), 1), (day, 3)])
    [today_row] = [d for d in await histories.stored_days(analysis_app, user) if d.day == day]
    polarities = []
    for entry_id in ids:
        response = await analysis_client.get(f"/api/v1/entries/{entry_id}", headers=user.headers)
        polarities.append(response.json()["analysis"]["polarity"])
    assert abs(today_row.polarity_sum - sum(polarities)) < 1e-4
    assert sum(today_row.ekman_counts.values()) == sum(today_row.sentiment_counts.values()) == 3

    response = await analysis_client.patch(
        f"/api/v1/entries/{ids[0]}", json={"content": EDITED}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    await assert_consistent(analysis_app, user, [(day - dt.timedelta(days=1), 1), (day, 2)])
    await histories.analyse_all(analysis_settings, analysis_app)
    await assert_consistent(analysis_app, user, [(day - dt.timedelta(days=1), 1), (day, 3)])

    # A new profile zone applies to new entries; an analysed entry keeps its day.
    response = await analysis_client.patch(
        "/api/v1/users/me", json={"timezone": "America/Los_Angeles"}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    await requeue(analysis_app, user)
    await histories.analyse_all(analysis_settings, analysis_app)
    await assert_consistent(analysis_app, user, [(day - dt.timedelta(days=1), 1), (day, 3)])

    for entry_id in (ids[1], earlier):
        response = await analysis_client.delete(f"/api/v1/entries/{entry_id}", headers=user.headers)
        assert response.status_code == 204, response.text
    await assert_consistent(analysis_app, user, [(day, 2)])
    async with analysis_app.state.sessionmaker() as session:
        await session.execute(
            text("DELETE FROM entries WHERE user_id = :user_id"), {"user_id": user.id}
        )
        await session.commit()
    assert await histories.stored_days(analysis_app, user) == []
