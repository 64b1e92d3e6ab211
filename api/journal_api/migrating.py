"""Applies Alembic migrations: `python -m journal_api migrate` and the test fixtures.

Safe to run twice (Alembic skips applied revisions) and from several processes at
once: the upgrade runs inside a PostgreSQL advisory lock held on the migration
connection, so a second runner waits, then finds the schema at head and does nothing.
The server never calls this on start-up (a migrations Job does, before the API rolls).
"""

from __future__ import annotations

import asyncio
import functools
import re
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
# The compatibility line of this build's schema (see the API README, "Schema compatibility").
# Migrations are expand-then-contract: one that only adds (tables, nullable or defaulted
# columns, indexes) keeps the line, so the previous release still works on the new schema and
# its pods stay ready during a rollout. One that removes or changes what the previous release
# reads or writes (the contract step, shipped a release after the code stopped using it)
# bumps this number, which makes every older build unready on the new schema.
COMPATIBILITY_LINE = 1
_LINE_COMMENT = "journal-api compatibility line {line}"
_LINE_PATTERN = re.compile(r"journal-api compatibility line (\d+)")
_REVISION_NUMBER = re.compile(r"^(\d+)_")


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


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision this build ships."""
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def schema_line(connection: Connection) -> int | None:
    """The compatibility line the last migrations run recorded (None: never recorded)."""
    comment = connection.execute(
        text("SELECT obj_description(to_regclass('alembic_version'), 'pg_class')")
    ).scalar()
    match = _LINE_PATTERN.fullmatch(comment or "")
    return int(match.group(1)) if match else None


def schema_compatible(
    revision: str | None,
    line: int | None,
    *,
    head: str | None,
    known: frozenset[str] | None = None,
    build_line: int = COMPATIBILITY_LINE,
) -> bool:
    """Whether this build can serve a database whose schema is at ``revision``.

    At its own head: yes. At a revision it ships but not its head (older): no, the schema
    is behind. At a revision it does not know: yes only when that revision is numbered
    after the head and the schema's recorded line is this build's (a newer release applied
    expand-only migrations); a newer line, an unnumbered or an older unknown revision: no.
    """
    if revision is None or head is None:
        return False
    if revision == head:
        return True
    if revision in (known_revisions() if known is None else known):
        return False
    ahead, ours = _REVISION_NUMBER.match(revision), _REVISION_NUMBER.match(head)
    if ahead is None or ours is None or int(ahead.group(1)) <= int(ours.group(1)):
        return False
    return line == build_line


def _record_line(connection: Connection) -> None:
    # Before the upgrade, so that older pods see a contract (a new line) no later than its
    # revision; after it too, for a fresh database whose version table the upgrade creates.
    if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return
    comment = _LINE_COMMENT.format(line=COMPATIBILITY_LINE)
    connection.execute(text(f"COMMENT ON TABLE alembic_version IS '{comment}'"))
    connection.commit()


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
        _record_line(connection)
        command.upgrade(config, target)
        _record_line(connection)


def run_sync(settings: settings_module.Settings) -> None:
    asyncio.run(run(settings))
