"""Entry writes: the rules that span the repositories and the cache.

A write (1) checks the topic belongs to the writer, (2) derives `word_count` and the
default `entry_date` (today in the user's time zone), (3) stores the entry and its words
for typo-tolerant search in one transaction, and (4) only after the commit bumps the
user's cache generation, so the next read of any list or insight is fresh. An edit or a
delete can leave words no entry uses any more; it queues a `search_terms.refresh` job in
the same transaction (one live job per user), and the worker prunes them
(`services/jobs.py`). A new entry, and
an edit of its title or content, also marks its analysis pending and queues one
`entry.analyze` job per entry in the same transaction (`services/analysis.py` runs it);
nothing here waits for the model server. Writes that grow what a user keeps (a new entry,
a longer text) are checked against the per-user quotas first, under the lock of the
user's `entry_usage` row (`Quotas`). Called by `routes/entries.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import zoneinfo
from typing import Any

from journal_api import settings as settings_module
from journal_api.clients import cache as cache_module
from journal_api.models import entry as entry_model
from journal_api.models import job as job_model
from journal_api.repositories import analyses as analyses_repo
from journal_api.repositories import entries as entries_repo
from journal_api.repositories import jobs as jobs_repo
from journal_api.repositories import search as search_repo
from journal_api.repositories import theme_snapshots
from journal_api.repositories import topics as topics_repo
from journal_api.repositories import usage as usage_repo
from journal_api.schemas import entry as entry_schema
from journal_api.schemas import user as user_schema
from journal_api.services import jobs as jobs_service
from journal_api.services import user_cache
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession


class UnknownTopicError(Exception):
    """`topic_id` is not one of the user's topics (missing, or someone else's)."""


class QuotaExceeded(Exception):  # noqa: N818 (a state, not a mistake)
    """The write would take the user past a quota; the message says which and by how much.

    ``field`` names the input that cannot fit (`content` for text), or None for the
    number of entries.
    """

    def __init__(self, message: str, *, field: str | None) -> None:
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class Quotas:
    """What one user may keep: entries, and characters of title and content in all."""

    max_entries: int
    max_text_chars: int

    @classmethod
    def from_settings(cls, settings: settings_module.Settings) -> Quotas:
        return cls(settings.quota_max_entries, settings.quota_max_text_chars)


def text_chars(title: str | None, content: str) -> int:
    """What an entry counts towards the text quota (as `entry_usage` counts it)."""
    return len(title or "") + len(content)


async def _check_quotas(
    session: AsyncSession,
    quotas: Quotas,
    *,
    user_id: uuid.UUID,
    new_entries: int,
    chars_delta: int,
) -> None:
    if new_entries <= 0 and chars_delta <= 0:
        return  # a write that does not grow anything is always allowed
    used = await usage_repo.locked(session, user_id=user_id)
    if new_entries > 0 and used.entries + new_entries > quotas.max_entries:
        raise QuotaExceeded(
            f"entry quota reached: at most {quotas.max_entries} entries per account; "
            "delete some to write more",
            field=None,
        )
    if chars_delta > 0 and used.text_chars + chars_delta > quotas.max_text_chars:
        raise QuotaExceeded(
            f"text quota reached: at most {quotas.max_text_chars} characters of entries per "
            f"account, {used.text_chars} used, this write needs {chars_delta} more",
            field="content",
        )


def local_today(user: user_schema.AuthUser, now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(user.timezone)).date()


async def _check_topic(
    session: AsyncSession, *, user_id: uuid.UUID, topic_id: uuid.UUID | None
) -> None:
    if (
        topic_id is not None
        and await topics_repo.get(session, user_id=user_id, topic_id=topic_id) is None
    ):
        raise UnknownTopicError


async def _queue_analysis(session: AsyncSession, *, entry: entry_model.Entry) -> None:
    # The dedupe key keeps one live job per entry: it reads the latest text when it runs.
    await jobs_repo.enqueue(
        session,
        kind=job_model.Kind.ANALYZE_ENTRY,
        user_id=entry.user_id,
        payload={"entry_id": str(entry.id)},
        dedupe_key=job_model.analyze_entry_key(entry.id),
    )


async def _queue_refresh(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    # One live refresh per user: a burst of edits leaves one prune, which sees them all
    # (the caller holds the vocabulary lock, so a prune already running cannot miss it).
    await jobs_repo.enqueue(
        session,
        kind=job_model.Kind.REFRESH_SEARCH_TERMS,
        user_id=user_id,
        dedupe_key=job_model.refresh_search_terms_key(user_id),
    )


async def _commit(session: AsyncSession) -> None:
    # The topic can be deleted between the ownership check and the commit.
    try:
        await session.commit()
    except sa_exc.IntegrityError as exc:
        if "fk_entries_topic_id_topics" in str(exc.orig):
            raise UnknownTopicError from exc
        raise


async def create(
    session: AsyncSession,
    cache: cache_module.Cache,
    *,
    user: user_schema.AuthUser,
    body: entry_schema.EntryCreate,
    now: dt.datetime,
    quotas: Quotas | None = None,  # None: no quota (tools, seeding)
) -> entry_model.Entry:
    """Store a new entry for ``user``.

    Raises:
        UnknownTopicError: `body.topic_id` is not one of the user's topics.
        QuotaExceeded: the user holds as many entries, or as much text, as allowed.
    """
    await _check_topic(session, user_id=user.id, topic_id=body.topic_id)
    if quotas is not None:
        await _check_quotas(
            session,
            quotas,
            user_id=user.id,
            new_entries=1,
            chars_delta=text_chars(body.title, body.content),
        )
    values = body.model_dump()
    values["entry_date"] = body.entry_date or local_today(user, now)
    values["word_count"] = entry_schema.count_words(body.content)
    entry = await entries_repo.create(session, user_id=user.id, values=values)
    analyses_repo.request(entry)
    await search_repo.remember_words(
        session, user_id=user.id, body=f"{body.title or ''} {body.content}"
    )
    await _queue_analysis(session, entry=entry)
    await _commit(session)
    await user_cache.invalidate(cache, user_id=user.id)
    return entry


async def update(
    session: AsyncSession,
    cache: cache_module.Cache,
    *,
    user: user_schema.AuthUser,
    entry: entry_model.Entry,
    body: entry_schema.EntryUpdate,
    quotas: Quotas | None = None,  # None: no quota (tools)
) -> entry_model.Entry:
    """Apply the fields the client sent.

    Raises:
        UnknownTopicError: a new `topic_id` is not one of the user's topics.
        QuotaExceeded: the edit grows the user's text past the quota.
    """
    values: dict[str, Any] = body.model_dump(exclude_unset=True)
    if values.get("topic_id") is not None:
        await _check_topic(session, user_id=user.id, topic_id=values["topic_id"])
    if quotas is not None and ("content" in values or "title" in values):
        grown = text_chars(values.get("title", entry.title), values.get("content", entry.content))
        await _check_quotas(
            session,
            quotas,
            user_id=user.id,
            new_entries=0,
            chars_delta=grown - text_chars(entry.title, entry.content),
        )
    if "content" in values:
        values["word_count"] = entry_schema.count_words(values["content"])
    entry = await entries_repo.update(session, entry=entry, values=values)
    if "content" in values or "title" in values:
        await search_repo.remember_words(
            session, user_id=user.id, body=f"{entry.title or ''} {entry.content}"
        )
        # After `remember_words` took the vocabulary lock (see `search_repo.hold_vocabulary`).
        await _queue_refresh(session, user_id=user.id)
        # Reset before queueing: a worker storing an older text's result at this moment
        # either sees the new revision and queues the entry again, or has already
        # finished and deleted its job, so the enqueue below is not swallowed.
        await analyses_repo.reset(session, entry=entry)
        await _queue_analysis(session, entry=entry)
        # Its old text must not be shown as a theme's excerpt; its analysis refreshes them.
        await theme_snapshots.discard(session, user_id=user.id)
    await _commit(session)
    await user_cache.invalidate(cache, user_id=user.id)
    return entry


async def delete(
    session: AsyncSession,
    cache: cache_module.Cache,
    *,
    user: user_schema.AuthUser,
    entry: entry_model.Entry,
    themes_delay: dt.timedelta = dt.timedelta(0),
) -> None:
    """Delete the entry; its user's themes are recomputed ``themes_delay`` later."""
    await entries_repo.delete(session, entry=entry)
    await jobs_repo.discard_queued(session, dedupe_key=job_model.analyze_entry_key(entry.id))
    await search_repo.hold_vocabulary(session, user_id=user.id)
    await _queue_refresh(session, user_id=user.id)
    # A deleted entry's excerpt must not be shown as a theme's representative.
    await theme_snapshots.discard(session, user_id=user.id)
    await jobs_service.queue_themes_refresh(session, user_id=user.id, delay=themes_delay)
    await session.commit()
    await user_cache.invalidate(cache, user_id=user.id)
