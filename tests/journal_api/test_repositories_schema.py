"""The journal tables created by migration 0002 match the ORM models exactly (columns,
types, server defaults, indexes, constraints), so the repositories' SQL and Alembic
never drift apart."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from journal_api import settings as settings_module
from journal_api.models import base, registry
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

JOURNAL_TABLES = ("topics", "entries", "search_terms")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, base.metadata))


async def test_topics_entries_and_search_terms_tables_match_the_models(
    api_settings: settings_module.Settings,
) -> None:
    assert {"entry", "topic"} <= {module.__name__.rsplit(".", 1)[1] for module in registry.MODULES}
    engine = create_async_engine(api_settings.database_url, poolclass=NullPool)
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    ours = [d for d in differences if any(f"'{table}'" in repr(d) for table in JOURNAL_TABLES)]
    assert ours == []
