"""What each background job kind does: the handlers the worker (`working.py`) runs.

A handler gets its own session and the claimed job, does its work and returns; the
worker commits it together with the job's completion, so a handler's effects and the
job's removal land together. Raising any exception means "retry later" (with back-off,
up to `worker_max_attempts`); `PermanentJobError` means "don't retry". Handlers must be
idempotent: a job can run again if its worker dies before committing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable

from journal_api import settings as settings_module
from journal_api.models import job as job_model
from journal_api.repositories import jobs as jobs_repo
from journal_api.repositories import login_failures as login_failures_repo
from journal_api.repositories import search as search_repo
from journal_api.repositories import theme_snapshots
from journal_api.repositories import tokens as tokens_repo
from journal_api.services import themes as themes_service
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, jobs_repo.ClaimedJob, settings_module.Settings], Awaitable[None]]


class PermanentJobError(Exception):
    """The job can never succeed (unknown kind, bad payload): mark it dead now."""


def retry_delay(settings: settings_module.Settings, attempts: int) -> dt.timedelta:
    """Back-off before the next attempt, after ``attempts`` failed ones."""
    seconds = settings.worker_retry_base_seconds * 2 ** min(max(0, attempts - 1), 32)
    return dt.timedelta(seconds=min(seconds, settings.worker_retry_max_seconds))


async def refresh_search_terms(
    session: AsyncSession, job: jobs_repo.ClaimedJob, settings: settings_module.Settings
) -> None:
    """Drop the words of the user's typo-correction vocabulary no entry contains now."""
    if job.user_id is None:
        # The user was deleted (ON DELETE CASCADE removes their jobs) or a bad enqueue.
        raise PermanentJobError("search_terms.refresh needs a user_id")
    removed = await search_repo.prune_words(session, user_id=job.user_id)
    logger.info("search terms pruned", extra={"user_id": str(job.user_id), "removed": removed})


async def purge_expired_tokens(
    session: AsyncSession, job: jobs_repo.ClaimedJob, settings: settings_module.Settings
) -> None:
    """Delete refresh tokens expired or revoked more than `token_purge_after_days` ago,
    and failed-login counts that have decayed (`login_lockout_seconds` quiet, unlocked)."""
    removed = await tokens_repo.purge_expired(
        session, older_than=dt.timedelta(days=settings.token_purge_after_days)
    )
    logger.info("expired refresh tokens purged", extra={"removed": removed})
    # Unknown emails leave rows too: without this an attacker could grow the table.
    decayed = await login_failures_repo.purge(
        session, older_than=dt.timedelta(seconds=settings.login_lockout_seconds)
    )
    logger.info("decayed login failure counts purged", extra={"removed": decayed})


async def refresh_themes(
    session: AsyncSession, job: jobs_repo.ClaimedJob, settings: settings_module.Settings
) -> None:
    """Recompute the user's stored themes (`services/themes.refresh`)."""
    if job.user_id is None:
        raise PermanentJobError("themes.refresh needs a user_id")
    stored = await themes_service.refresh(session, user_id=job.user_id)
    logger.info("themes refreshed", extra={"user_id": str(job.user_id), "stored": stored})


async def queue_themes_refresh(
    session: AsyncSession, *, user_id: uuid.UUID, delay: dt.timedelta
) -> None:
    """Queue the user's themes refresh, due after ``delay``, in the caller's transaction,
    unless one is live (a queued one covers this change too; a running one checks: the lock
    makes sure its last check sees this transaction, or that it is gone before this one
    looks, see `repositories/theme_snapshots.py`)."""
    await theme_snapshots.hold_for_refresh(session, user_id=user_id)
    await jobs_repo.enqueue(
        session,
        kind=job_model.Kind.REFRESH_THEMES,
        user_id=user_id,
        dedupe_key=job_model.refresh_themes_key(user_id),
        delay=delay,
    )


# Kinds whose success changes what a user's cached reads would answer: the worker bumps
# the user's cache generation after committing one.
INVALIDATE_USER_CACHE = frozenset({job_model.Kind.REFRESH_THEMES})

HANDLERS: dict[str, Handler] = {
    job_model.Kind.REFRESH_SEARCH_TERMS: refresh_search_terms,
    job_model.Kind.REFRESH_THEMES: refresh_themes,
    job_model.Kind.PURGE_EXPIRED_TOKENS: purge_expired_tokens,
}


def periodic(settings: settings_module.Settings) -> dict[str, dt.timedelta]:
    """The kinds the worker schedules itself, and how long between two runs."""
    return {
        job_model.Kind.PURGE_EXPIRED_TOKENS: dt.timedelta(
            seconds=settings.token_purge_interval_seconds
        ),
    }
