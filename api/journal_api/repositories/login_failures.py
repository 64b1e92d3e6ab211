"""SQL for `login_failures`: the lock check, counting a failure, clearing after a success.

Called by `services/credentials.py` only. Each function is one statement on one row, so
no row lock outlives it while a password is being hashed. Times and durations come from
the database clock; a lock's remaining time is answered in seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The count as this failure leaves it: unchanged while locked (a failure raced the lock),
# restarted after a lock ran out or a quiet `window`, else one more.
_NEW_COUNT = """
  CASE WHEN login_failures.locked_until > clock_timestamp() THEN login_failures.failures
       WHEN login_failures.locked_until IS NOT NULL
         OR login_failures.last_failure_at < clock_timestamp() - make_interval(secs => :window)
       THEN 1
       ELSE login_failures.failures + 1 END
"""

_RECORD_FAILURE = text(
    f"""
INSERT INTO login_failures AS login_failures (subject, failures, last_failure_at, locked_until)
VALUES (:subject, 1, clock_timestamp(),
        CASE WHEN 1 >= :max_failures
             THEN clock_timestamp() + make_interval(secs => :window) END)
ON CONFLICT (subject) DO UPDATE SET
  failures = {_NEW_COUNT},
  last_failure_at = clock_timestamp(),
  locked_until = CASE
    WHEN login_failures.locked_until > clock_timestamp() THEN login_failures.locked_until
    WHEN {_NEW_COUNT} >= :max_failures THEN clock_timestamp() + make_interval(secs => :window)
    END
RETURNING failures, EXTRACT(EPOCH FROM locked_until - clock_timestamp())
"""  # noqa: S608 - _NEW_COUNT is a constant, values are bound
)

_REMAINING = text(
    "SELECT EXTRACT(EPOCH FROM locked_until - clock_timestamp()) FROM login_failures "
    "WHERE subject = :subject AND locked_until > clock_timestamp()"
)

_CLEAR = text(
    "DELETE FROM login_failures WHERE subject = :subject "
    "AND (locked_until IS NULL OR locked_until <= clock_timestamp())"
)

_PURGE = text(
    "DELETE FROM login_failures "
    "WHERE last_failure_at < clock_timestamp() - make_interval(secs => :older_than) "
    "AND (locked_until IS NULL OR locked_until < clock_timestamp())"
)


@dataclasses.dataclass(frozen=True)
class Failure:
    failures: int
    locked_for: float | None  # seconds the subject is locked from now, None: not locked


async def locked_for(session: AsyncSession, *, subject: str) -> float | None:
    """Seconds ``subject`` stays locked, or None."""
    value = (await session.execute(_REMAINING, {"subject": subject})).scalar_one_or_none()
    return None if value is None else float(value)


async def record_failure(
    session: AsyncSession, *, subject: str, max_failures: int, window_seconds: int
) -> Failure:
    """Count one failure; the ``max_failures``-th within ``window_seconds`` of each other
    locks ``subject`` for ``window_seconds``."""
    row = (
        await session.execute(
            _RECORD_FAILURE,
            {"subject": subject, "max_failures": max_failures, "window": float(window_seconds)},
        )
    ).one()
    return Failure(failures=int(row[0]), locked_for=None if row[1] is None else float(row[1]))


async def clear(session: AsyncSession, *, subject: str) -> None:
    """Forget ``subject``'s failures after a success (a running lock stays)."""
    await session.execute(_CLEAR, {"subject": subject})


async def purge(session: AsyncSession, *, older_than: dt.timedelta) -> int:
    """Delete rows whose last failure is older than ``older_than`` and not locked."""
    result = await session.execute(_PURGE, {"older_than": older_than.total_seconds()})
    return int(result.rowcount)  # type: ignore[attr-defined]
