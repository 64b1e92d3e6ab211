"""Migrations from an empty database: upgrade to head, run again, run from two processes
at once (the advisory lock serialises them), and downgrade back to an empty schema;
entries that predate 0004 get a pending analysis and one analysis job.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from journal_api import migrating
from journal_api import settings as settings_module

from tests.support.postgres import PostgresServer

TABLES_SQL = (
    "SELECT string_agg(tablename, ',' ORDER BY tablename) "
    "FROM pg_tables WHERE schemaname = 'public'"
)
REVISION_SQL = "SELECT version_num FROM alembic_version"


def fresh_settings(
    postgres_server: PostgresServer, api_settings: settings_module.Settings, name: str
) -> settings_module.Settings:
    url = postgres_server.create_database(name)
    return api_settings.model_copy(update={"database_url": url})


async def test_upgrade_from_empty_reaches_head_and_is_repeatable(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    settings = fresh_settings(postgres_server, api_settings, "migrate_twice")
    await migrating.run(settings)
    tables = postgres_server.psql(TABLES_SQL, "migrate_twice")
    await migrating.run(settings)
    assert postgres_server.psql(REVISION_SQL, "migrate_twice") == migrating.head_revision()
    assert postgres_server.psql(TABLES_SQL, "migrate_twice") == tables
    assert {"users", "refresh_tokens", "audit_events"} <= set(tables.split(","))
    extensions = postgres_server.psql(
        "SELECT string_agg(extname, ',') FROM pg_extension", "migrate_twice"
    )
    assert {"vector", "pg_trgm"} <= set(extensions.split(","))


@pytest.mark.slow
def test_two_processes_migrate_concurrently(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    url = postgres_server.create_database("migrate_concurrently")
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("JOURNAL_API_")},
        "JOURNAL_API_DATABASE_URL": url,
        "JOURNAL_API_ENVIRONMENT": "development",
    }
    runners = [
        subprocess.Popen(
            [sys.executable, "-m", "journal_api", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [runner.communicate(timeout=120)[0].decode() for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs
    assert postgres_server.psql(REVISION_SQL, "migrate_concurrently") == migrating.head_revision()


async def test_downgrade_to_base_empties_the_schema(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    settings = fresh_settings(postgres_server, api_settings, "migrate_down")
    await migrating.run(settings)
    await migrating.run(settings, target="base", downgrade=True)
    assert postgres_server.psql(TABLES_SQL, "migrate_down") == "alembic_version"
    assert postgres_server.psql(REVISION_SQL, "migrate_down") == ""
    await migrating.run(settings)  # and back up again
    assert postgres_server.psql(REVISION_SQL, "migrate_down") == migrating.head_revision()


async def test_entries_written_before_analyses_existed_get_a_pending_analysis_and_a_job(
    postgres_server: PostgresServer, api_settings: settings_module.Settings
) -> None:
    settings = fresh_settings(postgres_server, api_settings, "migrate_backfill")
    await migrating.run(settings, target="0003_jobs")
    postgres_server.psql(
        "INSERT INTO users (id, email, password_hash) VALUES "
        "('00000000-0000-4000-8000-000000000001', 'old@example.com', 'x'); "
        "INSERT INTO entries (id, user_id, content, entry_date) VALUES "
        "('00000000-0000-4000-8000-0000000000e1', '00000000-0000-4000-8000-000000000001', "
        "'Written long ago.', '2020-01-01')",
        "migrate_backfill",
    )
    await migrating.run(settings, target="0004_analysis")
    assert postgres_server.psql(
        "SELECT status || ' ' || user_id || ' ' || revision FROM entry_analyses",
        "migrate_backfill",
    ) == ("pending 00000000-0000-4000-8000-000000000001 0")
    assert postgres_server.psql(
        "SELECT kind || ' ' || status || ' ' || (payload->>'entry_id') || ' ' || dedupe_key "
        "FROM jobs",
        "migrate_backfill",
    ) == (
        "entry.analyze queued 00000000-0000-4000-8000-0000000000e1 "
        "entry.analyze:00000000-0000-4000-8000-0000000000e1"
    )
    await migrating.run(settings, target="0003_jobs", downgrade=True)
    assert "entry_analyses" not in postgres_server.psql(TABLES_SQL, "migrate_backfill")
    assert postgres_server.psql("SELECT count(*) FROM jobs", "migrate_backfill") == "0"
