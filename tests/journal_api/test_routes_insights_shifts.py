"""`GET /api/v1/insights/shifts` on six weeks of history analysed by the real worker and
model server (one entry a day, last 14 days against the 28 before):

- a known shift (cheerful weekends with friends, then miserable weeks at work) is found:
  polarity down with Welch's p and its Benjamini-Hochberg adjusted p under 0.05, and
  explained by the tag, topic and words of the recent entries;
- a flat history (the same week of entries over and over) claims nothing;
- too little data claims nothing and says how much there is;
- window lengths out of bounds are 422.
"""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module

from tests.journal_api import histories
from tests.journal_api.conftest import MakeUser, TestUser

ZONE = "Europe/Berlin"
SHIFTS = "/api/v1/insights/shifts"
ONE_DAY = dt.timedelta(days=1)
CHEERFUL = (
    "Hiked the ridge with friends, the views were wonderful and we laughed all afternoon.",
    "Lovely picnic by the lake with friends; the sun was out and everyone was so happy.",
    "Cooked a big dinner with friends and we played board games, such a joyful evening.",
    "Cycled to the beach with friends, swam in the sea and felt grateful for this summer.",
)
MISERABLE = (
    "Another brutal deadline at the office; my boss shouted at me and I feel miserable.",
    "Stayed late at the office again for the deadline, exhausted, angry and hopeless.",
    "The boss blamed me for the missed deadline in front of everyone. I feel awful.",
    "Dreading the office tomorrow, the deadline pressure is crushing and I hate it.",
)
WEEK = (
    "Good run in the park this morning, then a calm day.",
    "Annoying meeting that went nowhere, a bit frustrated.",
    "Dinner with my parents, nice to catch up.",
    "Felt tired and flat all day, nothing went right.",
    "Finished a book I loved, very satisfying.",
    "Rain all day, stayed in and cleaned the flat.",
    "Argued with my brother about money, still upset.",
)


Day = tuple[str, dict[str, object]] | None


async def history(
    client: httpx.AsyncClient, app: FastAPI, user: TestUser, texts: list[Day]
) -> None:
    """texts[k] is written k days ago (today first); None: nothing that day."""
    today = histories.today_in(ZONE)
    for k, written in enumerate(texts):
        if written is None:
            continue
        content, fields = written
        await histories.write_on(
            client, app, user, content=content, day=today - k * ONE_DAY, zone=ZONE, fields=fields
        )


async def test_known_shift_is_found_with_its_direction_p_value_and_drivers(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user(timezone=ZONE)
    response = await analysis_client.post(
        "/api/v1/topics", json={"name": "Job"}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    job = response.json()["id"]
    recent: list[Day] = [(MISERABLE[k % 4], {"tags": ["work"], "topic_id": job}) for k in range(14)]
    baseline: list[Day] = [(CHEERFUL[k % 4], {"tags": ["friends"]}) for k in range(28)]
    await history(analysis_client, analysis_app, user, recent + baseline)
    await histories.analyse_all(analysis_settings, analysis_app)

    response = await analysis_client.get(SHIFTS, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert (body["recent"]["entries"], body["baseline"]["entries"]) == (14, 28)
    assert body["method"]["alpha"] == 0.05
    assert "Welch" in body["method"]["polarity_test"]
    assert "Benjamini-Hochberg" in body["method"]["correction"]
    assert len(body["tests"]) == 8
    [polarity] = [s for s in body["shifts"] if s["measure"] == "polarity"]
    assert polarity["direction"] == "down"
    assert polarity["recent"] < 0 < polarity["baseline"]
    assert polarity["p_value"] < 0.05
    assert polarity["adjusted_p_value"] < 0.05
    assert polarity["drivers"]["tags"] == ["work"]
    assert polarity["drivers"]["topics"] == ["Job"]
    assert {"deadline", "office"} <= set(polarity["drivers"]["terms"])
    assert "more negative" in polarity["explanation"]
    assert "“work”" in polarity["explanation"]
    assert "“Job”" in polarity["explanation"]
    assert all(s["adjusted_p_value"] <= 0.05 for s in body["shifts"])


async def test_flat_history_claims_nothing(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user(timezone=ZONE)
    # 14 and 28 days hold whole weeks: both windows see the same entries, as often.
    await history(analysis_client, analysis_app, user, [(WEEK[k % 7], {}) for k in range(42)])
    await histories.analyse_all(analysis_settings, analysis_app)
    response = await analysis_client.get(SHIFTS, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["shifts"]) == ("ok", [])
    assert body["message"] == "no significant change"
    assert len(body["tests"]) == 8
    assert all(not t["significant"] and t["adjusted_p_value"] > 0.05 for t in body["tests"])


async def test_too_little_data_claims_nothing_and_gives_the_counts(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user(timezone=ZONE)
    # 13 entries on 13 recent days, but only 4 on 4 days of the baseline window.
    texts: list[Day] = [(MISERABLE[k % 4], {}) for k in range(3)]
    texts += [(CHEERFUL[k % 4], {}) for k in range(10)] + [None]
    texts += [(CHEERFUL[k % 4], {}) for k in range(4)]
    await history(analysis_client, analysis_app, user, texts)
    await histories.analyse_all(analysis_settings, analysis_app)
    response = await analysis_client.get(SHIFTS, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "not_enough_data"
    assert (body["tests"], body["shifts"]) == ([], [])
    assert (body["recent"]["entries"], body["recent"]["active_days"]) == (13, 13)
    assert (body["baseline"]["entries"], body["baseline"]["active_days"]) == (4, 4)
    assert "the baseline window has 4 analysed entries on 4 days" in body["message"]
    assert "recent window" not in body["message"]


async def test_window_lengths_out_of_bounds_are_refused(
    analysis_client: httpx.AsyncClient, make_analysis_user: MakeUser
) -> None:
    user = await make_analysis_user()
    for query in ("recent_days=6", "recent_days=91", "baseline_days=6", "baseline_days=366"):
        response = await analysis_client.get(f"{SHIFTS}?{query}", headers=user.headers)
        assert response.status_code == 422, query
