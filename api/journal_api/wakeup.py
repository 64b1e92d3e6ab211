"""Wake the worker the moment a job is queued: PostgreSQL `LISTEN`/`NOTIFY`.

`repositories/jobs.enqueue` sends `NOTIFY journal_jobs` in the writer's transaction, so
the notification is delivered when (and only if) the job commits. The worker keeps one
connection of its own listening on that channel and sleeps until a notification or its
poll interval, whichever comes first: an entry is analysed as soon as it is written
rather than up to a poll interval later, while the poll stays the safety net for a
missed notification (the listener's connection lost, PostgreSQL restarting). A lost
listener is not an error: the worker polls, and reconnects the listener on a later turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from journal_api.repositories import jobs as jobs_repo

CHANNEL = jobs_repo.NOTIFY_CHANNEL
# Between two attempts to (re)connect the listener: polling covers the gap.
RECONNECT_SECONDS = 5.0
logger = logging.getLogger(__name__)


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (``postgresql+asyncpg://…``) as a plain libpq-style DSN."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class Listener:
    """A `LISTEN` connection that sets an event on every notification.

    Args:
        database_url: the API's SQLAlchemy database URL.
        connect_timeout: seconds for a connection attempt.
    """

    def __init__(self, database_url: str, *, connect_timeout: float = 5.0) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._timeout = connect_timeout
        self._connection: asyncpg.Connection | None = None
        self._next_attempt = 0.0
        self.event = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    async def ensure(self) -> None:
        """Connect and `LISTEN` unless already listening (at most every few seconds)."""
        if self.listening or time.monotonic() < self._next_attempt:
            return
        self._next_attempt = time.monotonic() + RECONNECT_SECONDS
        await self.close()
        try:
            connection = await asyncpg.connect(self._dsn, timeout=self._timeout)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            logger.warning(
                "job notifications unavailable, polling",
                extra={"error": type(exc).__name__, "retry_in_s": RECONNECT_SECONDS},
            )
            return
        connection.add_termination_listener(self._lost)
        try:
            await connection.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("could not LISTEN for jobs", extra={"error": type(exc).__name__})
            await connection.close(timeout=self._timeout)
            return
        self._connection = connection
        # Jobs may have been queued while nobody listened: look once now.
        self.event.set()
        logger.info("listening for job notifications", extra={"channel": CHANNEL})

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.remove_termination_listener(self._lost)  # closing is not losing
            try:
                await connection.close(timeout=self._timeout)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                connection.terminate()

    def _notified(self, *_: Any) -> None:
        self.event.set()

    def _lost(self, *_: Any) -> None:
        logger.warning("job notification connection lost, polling until it is back")
        self._connection = None
