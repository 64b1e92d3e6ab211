"""`GET /api/v1/insights/emotions` in a zone far from UTC (Los Angeles), on entries analysed
by the real worker and model server:

- day buckets: one per local day, empty days included; an entry written at 23:30 local
  time (the next day in UTC) counts on its local day; means, Ekman shares and the 7-day
  rolling average come from the day's aggregates;
- week buckets: Monday-first weeks clipped to the window, a 4-week rolling average;
- bad parameters are 422.
"""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module

from tests.journal_api import histories
from tests.journal_api.conftest import MakeUser

ZONE = "America/Los_Angeles"
EMOTIONS = "/api/v1/insights/emotions"
LATE = "Stayed up far too late finishing the puzzle with my sister, so much laughter."
MORNING = "The bus broke down and I missed the interview; I feel awful about it."
OLDER = "Planted tomatoes and basil in the garden this afternoon."
ONE_DAY = dt.timedelta(days=1)


async def polarity(client: httpx.AsyncClient, headers: dict[str, str], entry_id: str) -> float:
    response = await client.get(f"/api/v1/entries/{entry_id}", headers=headers)
    return float(response.json()["analysis"]["polarity"])


async def test_emotion_buckets_by_local_day_and_week(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user(timezone=ZONE)
    today = histories.today_in(ZONE)
    busy, older = today - 2 * ONE_DAY, today - 9 * ONE_DAY
    ids = [
        await histories.write_on(
            analysis_client, analysis_app, user, content=LATE, day=busy, zone=ZONE,
            at=dt.time(23, 30),
        ),
        await histories.write_on(
            analysis_client, analysis_app, user, content=MORNING, day=busy, zone=ZONE,
            at=dt.time(8),
        ),
        await histories.write_on(
            analysis_client, analysis_app, user, content=OLDER, day=older, zone=ZONE
        ),
    ]  # fmt: skip
    await histories.analyse_all(analysis_settings, analysis_app)
    late, morning, old = [await polarity(analysis_client, user.headers, i) for i in ids]

    response = await analysis_client.get(f"{EMOTIONS}?days=14", headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["bucket"], body["timezone"], body["entries"]) == ("day", ZONE, 3)
    assert body["rolling_window"]["buckets"] == 7
    by_day = {dt.date.fromisoformat(b["start"]): b for b in body["buckets"]}
    assert list(by_day) == [today - i * ONE_DAY for i in range(13, -1, -1)]
    assert by_day[busy]["entries"] == 2
    assert by_day[busy + ONE_DAY]["entries"] == 0  # where UTC would have put the late one
    assert by_day[older]["entries"] == 1
    assert abs(by_day[busy]["polarity"] - (late + morning) / 2) < 1e-3
    assert len(by_day[busy]["emotions"]) == 28
    assert abs(sum(by_day[busy]["ekman"].values()) - 1) < 1e-3
    assert sum(by_day[busy]["sentiment"].values()) == 2
    # 7-day rolling: the older entry still counts 6 days after it; nothing before it.
    assert abs(by_day[older + 6 * ONE_DAY]["polarity_rolling"] - old) < 1e-3
    assert by_day[older - ONE_DAY]["polarity_rolling"] is None
    assert abs(by_day[today]["polarity_rolling"] - (late + morning) / 2) < 1e-3
    assert by_day[today]["polarity"] is None
    assert by_day[today]["emotions"] == {}

    response = await analysis_client.get(f"{EMOTIONS}?days=14&bucket=week", headers=user.headers)
    assert response.status_code == 200, response.text
    weeks = response.json()
    assert weeks["rolling_window"]["buckets"] == 4
    start = today - 13 * ONE_DAY
    expected, monday = [], start - start.weekday() * ONE_DAY
    while monday <= today:
        expected.append((max(monday, start), min(monday + 6 * ONE_DAY, today)))
        monday += 7 * ONE_DAY
    got = [
        (dt.date.fromisoformat(b["start"]), dt.date.fromisoformat(b["end"]))
        for b in weeks["buckets"]
    ]
    assert got == expected
    # Seven days apart: always consecutive weeks.
    [busy_week] = [b for b, s in zip(weeks["buckets"], got, strict=True) if s[0] <= busy <= s[1]]
    [older_week] = [b for b, s in zip(weeks["buckets"], got, strict=True) if s[0] <= older <= s[1]]
    assert (busy_week["entries"], older_week["entries"], weeks["entries"]) == (2, 1, 3)
    assert abs(busy_week["polarity"] - (late + morning) / 2) < 1e-3
    assert abs(busy_week["polarity_rolling"] - (late + morning + old) / 3) < 1e-3


async def test_emotions_refuse_bad_parameters(
    analysis_client: httpx.AsyncClient, make_analysis_user: MakeUser
) -> None:
    user = await make_analysis_user()
    for query in ("days=0", "days=731", "bucket=month"):
        response = await analysis_client.get(f"{EMOTIONS}?{query}", headers=user.headers)
        assert response.status_code == 422, query
