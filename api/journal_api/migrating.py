"""Applies Alembic migrations: `python -m journal_api migrate` and the test fixtures.

Safe to run twice (Alembic skips applied revisions) and from several processes at
once: the upgrade runs inside a PostgreSQL advisory lock held on the migration
connection, so a second runner waits, then finds the schema at head and does nothing.
The server never calls this on start-up (a migrations Job does, before the API rolls).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from journal_api import db
from journal_api import settings as settings_module

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary but fixed: every runner must contend for the same advisory lock.
ADVISORY_LOCK_ID = 727_101_001


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our scripts; ``connection`` is handed to env.py if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def run(
    settings: settings_module.Settings, *, target: str = "head", downgrade: bool = False
) -> None:
    """Upgrade (or downgrade) the database at ``settings.database_url`` to ``target``."""
    engine = db.make_engine(settings, pooled=False)
    try:
        async with engine.connect() as connection:
            # A session-level lock: it outlives the commit below, which leaves the
            # connection outside any transaction so Alembic can manage its own.
            await connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
            await connection.commit()
            try:
                await connection.run_sync(_apply, target, downgrade)
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID}
                )
                await connection.commit()
    finally:
        await engine.dispose()


def _apply(connection: Connection, target: str, downgrade: bool) -> None:
    config = alembic_config(connection)
    if downgrade:
        command.downgrade(config, target)
    else:
        command.upgrade(config, target)


def run_sync(settings: settings_module.Settings) -> None:
    asyncio.run(run(settings))
