"""Migration 0005: analyses that were done before it are counted in `emotion_days` on the
local day of their entry (in the user's zone), the triggers then keep the days, and the
downgrade removes them cleanly.
"""

from __future__ import annotations

from journal_api import migrating
from journal_api import settings as settings_module

from tests.journal_api.test_migrating_schema import fresh_settings
from tests.support.postgres import PostgresServer

USER = "00000000-0000-4000-8000-000000000005"
SCORES = "ARRAY[" + ",".join(["0.5"] * 28) + "]::real[]"
DAYS_SQL = (
    "SELECT string_agg(day || ' ' || entries || ' ' || round(polarity_sum::numeric, 2) || ' ' "
    "|| ekman_counts::text || ' ' || round(emotion_sums[1]::numeric, 2), '; ' ORDER BY day) "
    "FROM emotion_days"
)


async def test_done_analyses_are_backfilled_per_local_day_and_then_kept(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    db = "migrate_emotion_days"
    settings = fresh_settings(postgres_server, api_settings, db)
    await migrating.run(settings, target="0004_analysis")
    # Tokyo is UTC+9: 2026-03-01 20:00 UTC is the 2nd there; 01:00 UTC is still the 1st.
    postgres_server.psql(
        f"INSERT INTO users (id, email, password_hash, timezone) "  # noqa: S608 - constants
        f"VALUES ('{USER}', 'old@example.com', 'x', 'Asia/Tokyo'); "
        f"INSERT INTO entries (id, user_id, content, entry_date, created_at) VALUES "
        f"('00000000-0000-4000-8000-0000000000a1', '{USER}', 'a', '2026-03-02', "
        f"'2026-03-01 20:00+00'), "
        f"('00000000-0000-4000-8000-0000000000a2', '{USER}', 'b', '2026-03-02', "
        f"'2026-03-02 01:00+00'), "
        f"('00000000-0000-4000-8000-0000000000a3', '{USER}', 'c', '2026-03-01', "
        f"'2026-03-01 01:00+00'), "
        f"('00000000-0000-4000-8000-0000000000a4', '{USER}', 'd', '2026-03-01', "
        f"'2026-03-01 02:00+00'); "
        f"INSERT INTO entry_analyses (entry_id, user_id, status, emotion_scores, ekman, "
        f"sentiment, polarity) VALUES "
        f"('00000000-0000-4000-8000-0000000000a1', '{USER}', 'done', {SCORES}, 'joy', "
        f"'positive', 0.5), "
        f"('00000000-0000-4000-8000-0000000000a2', '{USER}', 'done', {SCORES}, 'joy', "
        f"'positive', 0.25), "
        f"('00000000-0000-4000-8000-0000000000a3', '{USER}', 'done', {SCORES}, 'sadness', "
        f"'negative', -0.5), "
        f"('00000000-0000-4000-8000-0000000000a4', '{USER}', 'pending', NULL, NULL, NULL, NULL)",
        db,
    )
    await migrating.run(settings, target="0005_emotion_days")
    assert postgres_server.psql(DAYS_SQL, db) == (
        '2026-03-01 1 -0.50 {"sadness": 1} 0.50; 2026-03-02 2 0.75 {"joy": 2} 1.00'
    )
    # From now on the triggers keep the days: the pending one is analysed, one is deleted.
    postgres_server.psql(
        f"UPDATE entry_analyses SET status = 'done', emotion_scores = {SCORES}, "  # noqa: S608
        "ekman = 'sadness', sentiment = 'negative', polarity = -0.25 "
        "WHERE entry_id = '00000000-0000-4000-8000-0000000000a4'; "
        "DELETE FROM entries WHERE id = '00000000-0000-4000-8000-0000000000a1'",
        db,
    )
    assert postgres_server.psql(DAYS_SQL, db) == (
        '2026-03-01 2 -0.75 {"sadness": 2} 1.00; 2026-03-02 1 0.25 {"joy": 1} 0.50'
    )
    await migrating.run(settings, target="0004_analysis", downgrade=True)
    assert (
        postgres_server.psql(
            "SELECT count(*) FROM pg_proc WHERE proname LIKE '%emotion%' OR proname LIKE "
            "'%local_day%' OR proname LIKE 'label_counts%'",
            db,
        )
        == "0"
    )
    await migrating.run(settings)
