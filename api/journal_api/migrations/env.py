"""Alembic environment: runs migrations on the connection `journal_api.migrating` passes.

Always invoked through `migrating.run` (which holds the advisory lock), never through the
`alembic` CLI, so there is no URL handling here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from journal_api.models import base, registry

# Imported for its side effect: every model module registers its tables on the metadata.
assert registry.MODULES

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `python -m journal_api migrate`")

context.configure(
    connection=connection,
    target_metadata=base.metadata,
    compare_type=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
