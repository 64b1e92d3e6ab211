"""The personal data export: everything a user owns, as one JSON document.

Builds the document from the user's profile, topics and entries (each with its
analysis, as the API shows it), and records the export in the audit trail in the same
transaction. Called by `routes/export.py`.
"""

from __future__ import annotations

import datetime as dt

from journal_api.repositories import audit
from journal_api.repositories import entries as entries_repo
from journal_api.repositories import topics as topics_repo
from journal_api.schemas import entry as entry_schema
from journal_api.schemas import export as export_schema
from journal_api.schemas import topic as topic_schema
from journal_api.schemas import user as user_schema
from sqlalchemy.ext.asyncio import AsyncSession


async def export_document(
    session: AsyncSession,
    *,
    user: user_schema.AuthUser,
    now: dt.datetime,
    ip: str | None,
    user_agent: str | None,
) -> export_schema.ExportDocument:
    """Collect the user's data and audit the export (committed here).

    Args:
        session: the request's session.
        user: whose data.
        now: the export's timestamp.
        ip: client address, for the audit event.
        user_agent: client user agent, for the audit event.
    """
    topics = await topics_repo.list_all(session, user_id=user.id)
    entries = [
        entry_schema.EntryPublic.model_validate(entry)
        async for entry in entries_repo.stream_all(session, user_id=user.id)
    ]
    document = export_schema.ExportDocument(
        exported_at=now,
        profile=user_schema.UserPublic.model_validate(user),
        topics=[topic_schema.TopicPublic.model_validate(topic) for topic in topics],
        entries=entries,
    )
    await audit.record(
        session,
        event_type=audit.EventType.EXPORT,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
        details={"topics": len(topics), "entries": len(entries)},
    )
    await session.commit()
    return document
