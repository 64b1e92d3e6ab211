"""Migration 0008: entries written before it are counted in `writing_days` on the local
day of the user's zone; from then on the triggers keep every day exactly what a scan of
the entries gives (inserts, edits of time, words and mood, deletes, a change of time
zone, a deleted account), and the downgrade removes them cleanly.
"""

from __future__ import annotations

import random

from journal_api import migrating
from journal_api import settings as settings_module

from tests.journal_api.test_migrating_schema import fresh_settings
from tests.support.postgres import PostgresServer

USER = "00000000-0000-4000-8000-000000000007"
OTHER = "00000000-0000-4000-8000-000000000008"
KEPT_SQL = (
    "SELECT coalesce(string_agg(user_id || ' ' || day || ' ' || entries || ' ' || words || ' ' "
    "|| mood_sum || ' ' || mood_entries, '; ' ORDER BY user_id, day), '') FROM writing_days"
)
# What the days must hold: the entries scanned, per local day of each user's zone now.
SCANNED_SQL = (
    "SELECT coalesce(string_agg(user_id || ' ' || day || ' ' || n || ' ' || words || ' ' "
    "|| mood_sum || ' ' || mood_entries, '; ' ORDER BY user_id, day), '') FROM ("
    "SELECT e.user_id, (e.created_at AT TIME ZONE u.timezone)::date AS day, count(*) AS n, "
    "sum(e.word_count) AS words, coalesce(sum(e.mood), 0) AS mood_sum, "
    "count(e.mood) AS mood_entries FROM entries e JOIN users u ON u.id = e.user_id "
    "GROUP BY 1, 2) AS days"
)


def entry_sql(n: int, user: str, *, hour: int, words: int, mood: int | None) -> str:
    mood_sql = "NULL" if mood is None else str(mood)
    return (
        f"INSERT INTO entries (id, user_id, content, entry_date, created_at, word_count, mood) "  # noqa: S608 - generated numbers only
        f"VALUES ('00000000-0000-4000-8000-{n:012d}', '{user}', 'x', '2026-03-01', "
        f"timestamptz '2026-03-01 00:00+00' + interval '{hour} hours', {words}, {mood_sql})"
    )


async def test_days_are_backfilled_then_kept_equal_to_a_scan_of_the_entries(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    db = "migrate_writing_days"
    settings = fresh_settings(postgres_server, api_settings, db)
    await migrating.run(settings, target="0007_entry_usage")
    postgres_server.psql(
        f"INSERT INTO users (id, email, password_hash, timezone) VALUES "  # noqa: S608 - constants
        f"('{USER}', 'writer@example.com', 'x', 'Asia/Tokyo'), "
        f"('{OTHER}', 'other@example.com', 'x', 'America/Los_Angeles'); "
        + "; ".join(
            # Tokyo is UTC+9: hour 20 is already the 2nd there.
            entry_sql(n, USER, hour=hour, words=words, mood=mood)
            for n, (hour, words, mood) in enumerate([(1, 3, 2), (20, 5, None), (22, 1, -1)])
        ),
        db,
    )
    await migrating.run(settings, target="0008_writing_days")
    kept = postgres_server.psql(KEPT_SQL, db)
    assert kept == f"{USER} 2026-03-01 1 3 2 1; {USER} 2026-03-02 2 6 -1 1"
    assert kept == postgres_server.psql(SCANNED_SQL, db)

    # Random writes through every path the triggers watch; after each, the kept days
    # equal the scan.
    rng = random.Random(7)
    live = [0, 1, 2]
    for n in range(3, 60):
        user = rng.choice([USER, OTHER])
        action = rng.choice(["insert", "insert", "move", "words", "mood", "delete"])
        if action == "insert" or not live:
            sql = entry_sql(n, user, hour=rng.randint(0, 96), words=rng.randint(0, 50),
                            mood=rng.choice([None, -2, 0, 1, 2]))  # fmt: skip
            live.append(n)
        else:
            chosen = rng.choice(live)
            target = f"'00000000-0000-4000-8000-{chosen:012d}'"
            if action == "move":
                hours = rng.randint(-30, 30)
                sql = f"UPDATE entries SET created_at = created_at + interval '{hours} hours' "  # noqa: S608
                sql += f"WHERE id = {target}"
            elif action == "words":
                sql = f"UPDATE entries SET word_count = {rng.randint(0, 50)} WHERE id = {target}"  # noqa: S608
            elif action == "mood":
                mood = rng.choice(["NULL", "-2", "1"])
                sql = f"UPDATE entries SET mood = {mood} WHERE id = {target}"  # noqa: S608
            else:
                sql = f"DELETE FROM entries WHERE id = {target}"  # noqa: S608
                live.remove(chosen)
        postgres_server.psql(sql, db)
        assert postgres_server.psql(KEPT_SQL, db) == postgres_server.psql(SCANNED_SQL, db), sql

    # A new time zone moves the days; a deleted account takes its days with it.
    postgres_server.psql(
        f"UPDATE users SET timezone = 'Pacific/Kiritimati' WHERE id = '{USER}'",  # noqa: S608
        db,
    )
    assert postgres_server.psql(KEPT_SQL, db) == postgres_server.psql(SCANNED_SQL, db)
    postgres_server.psql(f"DELETE FROM users WHERE id = '{OTHER}'", db)  # noqa: S608
    assert OTHER not in postgres_server.psql(KEPT_SQL, db)
    assert postgres_server.psql(KEPT_SQL, db) == postgres_server.psql(SCANNED_SQL, db)

    await migrating.run(settings, target="0007_entry_usage", downgrade=True)
    assert postgres_server.psql("SELECT to_regclass('writing_days') IS NULL", db) == "t"
    assert (
        postgres_server.psql(
            "SELECT count(*) FROM pg_proc WHERE proname IN "
            "('local_date', 'writing_days_apply', 'entries_writing_days', 'users_writing_days')",
            db,
        )
        == "0"
    )
    await migrating.run(settings)
    assert postgres_server.psql(KEPT_SQL, db) == postgres_server.psql(SCANNED_SQL, db)
