"""Engine and session factories: built by `create_app`'s lifespan, nothing at import time.

`pool_pre_ping` tests each pooled connection before handing it out, so connections
broken by a PostgreSQL restart are replaced transparently instead of failing a request.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from journal_api import settings as settings_module


def make_engine(settings: settings_module.Settings, *, pooled: bool = True) -> AsyncEngine:
    """Create the async engine for ``settings.database_url``.

    Args:
        settings: the API settings (URL and pool size).
        pooled: False for one-shot tools such as migrations (no pool to dispose).
    """
    if not pooled:
        from sqlalchemy.pool import NullPool

        return create_async_engine(settings.database_url, poolclass=NullPool, hide_parameters=True)
    return create_async_engine(
        settings.database_url,
        # Statement parameters (emails, hashes, journal text) stay out of errors and logs.
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Fail fast (503) instead of queueing requests forever when the pool is exhausted.
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: routes serialise ORM objects after committing.
    return async_sessionmaker(engine, expire_on_commit=False)
