"""The journal tables created by migrations 0002, 0004, 0005 and 0007 match the ORM models
exactly (columns, types, server defaults, indexes, constraints), so the repositories' SQL
and Alembic never drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from journal_api import settings as settings_module
from journal_api.models import base, registry
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

JOURNAL_TABLES = (
    "topics",
    "entries",
    "search_terms",
    "entry_analyses",
    "emotion_days",
    "entry_usage",
)


def _tables(difference: Any) -> set[str]:
    """The tables an autogenerate difference touches: column and table operations name
    them, index and constraint operations carry the object (whose repr does not)."""
    parts = difference if isinstance(difference, list) else [difference]
    names: set[str] = set()
    for part in parts:
        for item in part if isinstance(part, tuple) else (part,):
            if isinstance(item, str):
                names.add(item)
            for owner in (getattr(item, "table", None), getattr(item, "parent", None), item):
                if owner is not None:  # SQL objects refuse `or`: their truth is undefined
                    names.add(str(getattr(owner, "name", "")))
    return names


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, base.metadata))


def test_the_registry_names_every_model_module() -> None:
    package = Path(registry.__file__).parent
    modules = {path.stem for path in package.glob("*.py")} - {"__init__", "base", "registry"}
    assert {module.__name__.rsplit(".", 1)[1] for module in registry.MODULES} == modules


async def test_the_journal_tables_match_the_models(
    api_settings: settings_module.Settings,
) -> None:
    assert {"analysis", "entry", "topic"} <= {
        module.__name__.rsplit(".", 1)[1] for module in registry.MODULES
    }
    engine = create_async_engine(api_settings.database_url, poolclass=NullPool)
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    ours = [d for d in differences if _tables(d) & set(JOURNAL_TABLES)]
    assert ours == []


async def test_embeddings_have_an_hnsw_cosine_index_in_the_model_and_the_database(
    api_settings: settings_module.Settings,
) -> None:
    # Autogenerate compares neither index methods nor operator classes: check them here.
    engine = create_async_engine(api_settings.database_url, poolclass=NullPool)
    async with engine.connect() as connection:
        definition = await connection.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_entry_analyses_embedding'")
        )
    await engine.dispose()
    assert "USING hnsw (embedding vector_cosine_ops)" in str(definition)
    [index] = [
        index
        for index in base.metadata.tables["entry_analyses"].indexes
        if index.name == "ix_entry_analyses_embedding"
    ]
    assert index.dialect_options["postgresql"]["using"] == "hnsw"
    assert index.dialect_options["postgresql"]["ops"] == {"embedding": "vector_cosine_ops"}
