"""The personal data export: everything a user owns, streamed, at a bounded rate.

`begin` admits an export: at most `export_max_per_window` per user per
`export_window_seconds` (counted from the audit trail, under a per-user lock, so two
concurrent requests cannot both take the last slot), and records the export in the audit
trail. `stream` then yields the body piece by piece from a read-only, repeatable-read
transaction (one consistent snapshot however long the download takes): the profile, the
topics, then the entries, each with its analysis, fetched `BATCH` at a time and dropped
from the session once written, so memory stays flat whatever the journal's size.

Two formats, one content:
- `application/json`: one document, `{"exported_at", "profile", "topics": [...],
  "entries": [...]}` (`schemas/export.ExportDocument`), sent in chunks;
- `application/x-ndjson`: one JSON object per line, each with a `type`: `profile`, then
  every `topic`, every `entry`, and an `end` line with the counts; a download that
  stops early is recognisable by its missing `end` line.

Called by `routes/export.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import AsyncIterator, Callable

import pydantic_core
from journal_api import settings as settings_module
from journal_api.repositories import audit
from journal_api.repositories import entries as entries_repo
from journal_api.repositories import topics as topics_repo
from journal_api.schemas import entry as entry_schema
from journal_api.schemas import topic as topic_schema
from journal_api.schemas import user as user_schema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

JSON, NDJSON = "application/json", "application/x-ndjson"
# Entries fetched per round trip while streaming.
BATCH = 200
# Two-key advisory lock class for "one export admission at a time per user".
_EXPORT_LOCK_CLASS = 727_103

_RECENT_EXPORTS_SQL = text(
    """
    SELECT count(*) AS n, min(created_at) AS oldest, now() AS now
    FROM audit_events
    WHERE user_id = :user_id AND event_type = :event_type
      AND created_at > now() - make_interval(secs => :window)
    """
)


class ExportLimited(Exception):  # noqa: N818 (a state, not a mistake)
    """The user has used every export of the window; ``retry_after`` seconds until one
    frees up."""

    def __init__(self, *, limit: int, window_seconds: int, retry_after: int) -> None:
        super().__init__(f"at most {limit} exports per {window_seconds} s")
        self.limit = limit
        self.window_seconds = window_seconds
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class Admitted:
    """An export that may start: when it was taken, and the format."""

    exported_at: dt.datetime
    media_type: str


async def begin(
    session: AsyncSession,
    settings: settings_module.Settings,
    *,
    user: user_schema.AuthUser,
    media_type: str,
    ip: str | None,
    user_agent: str | None,
) -> Admitted:
    """Admit one export of ``user``'s data and audit it (committed here).

    Raises:
        ExportLimited: the user's exports of the current window are used up.
    """
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:user_key))"),
        {"lock_class": _EXPORT_LOCK_CLASS, "user_key": str(user.id)},
    )
    window = settings.export_window_seconds
    recent = (
        await session.execute(
            _RECENT_EXPORTS_SQL,
            {"user_id": user.id, "event_type": audit.EventType.EXPORT, "window": window},
        )
    ).one()
    if recent.n >= settings.export_max_per_window:
        frees_at = recent.oldest + dt.timedelta(seconds=window)
        raise ExportLimited(
            limit=settings.export_max_per_window,
            window_seconds=window,
            retry_after=max(1, math.ceil((frees_at - recent.now).total_seconds())),
        )
    await audit.record(
        session,
        event_type=audit.EventType.EXPORT,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
        details={"format": media_type},
    )
    await session.commit()
    return Admitted(exported_at=recent.now, media_type=media_type)


def _json(value: object) -> bytes:
    return pydantic_core.to_json(value)


def _line(kind: str, **fields: object) -> bytes:
    return pydantic_core.to_json({"type": kind, **fields}) + b"\n"


async def stream(
    open_session: Callable[[], AsyncSession],
    *,
    user: user_schema.AuthUser,
    admitted: Admitted,
) -> AsyncIterator[bytes]:
    """The export's body, piece by piece, in ``admitted.media_type``.

    Args:
        open_session: makes the session the stream reads with (its own: the request's
            session is gone by the time the body is sent).
        user: whose data.
        admitted: what `begin` returned.
    """
    ndjson = admitted.media_type == NDJSON
    profile = user_schema.UserPublic.model_validate(user)
    async with open_session() as session:
        # One snapshot for the whole download, and nothing in it can write.
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        topics = await topics_repo.list_all(session, user_id=user.id)
        if ndjson:
            yield _line("profile", exported_at=admitted.exported_at, profile=profile)
        else:
            yield (
                b'{"exported_at":'
                + _json(admitted.exported_at)
                + b',"profile":'
                + _json(profile)
                + b',"topics":['
            )
        for index, topic in enumerate(topics):
            public = topic_schema.TopicPublic.model_validate(topic)
            if ndjson:
                yield _line("topic", topic=public)
            else:
                yield (b"," if index else b"") + _json(public)
        if not ndjson:
            yield b'],"entries":['
        count = 0
        chunk: list[bytes] = []
        async for entry in entries_repo.stream_all(session, user_id=user.id, batch=BATCH):
            public_entry = entry_schema.EntryPublic.model_validate(entry)
            # Written: the session need not keep it (its identity map would grow by
            # one entry per row otherwise).
            session.expunge(entry)
            if ndjson:
                chunk.append(_line("entry", entry=public_entry))
            else:
                chunk.append((b"," if count else b"") + _json(public_entry))
            count += 1
            if len(chunk) >= BATCH:
                yield b"".join(chunk)
                chunk = []
        if chunk:
            yield b"".join(chunk)
        yield _line("end", topics=len(topics), entries=count) if ndjson else b"]}"
