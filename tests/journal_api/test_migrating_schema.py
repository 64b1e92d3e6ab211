"""Migrations from an empty database: upgrade to head, run again, run from two processes
at once (the advisory lock serialises them), and downgrade back to an empty schema.
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
