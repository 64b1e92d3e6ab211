"""Runs `entry.analyze` jobs: a batch of entries through the model server's `analyzer`.

The worker (`working.py`) hands a claimed batch to `Analyzer.run`, which:

1. reads each entry's current text and revision (`repositories/analyses.texts`); a job
   whose entry was deleted is simply finished;
2. sends the texts in one request per `analysis_batch_texts` (`clients/inference.py`);
   when the server rejects a request (400), it is retried text by text, so one bad
   text is marked `failed` with the server's reason and the others still succeed;
3. screens each analysed entry's whole text for crisis language (`services/safety.py`,
   the embedding model); a text the server refuses to embed is stored unscreened;
4. stores every result guarded by the revision it read, with its crisis verdict, and
   finishes its job, in one transaction, together with a `safety_flagged` audit event
   (ids and numbers, never the text) for a flagged entry; an entry edited meanwhile is
   not written and its job is queued again at once, so it is analysed with its new text
   (PostgreSQL triggers keep the per-day aggregates, `emotion_days`, in that same
   transaction);
5. bumps the owners' cache generation after the commit, so cached reads show it.

When the server is unavailable the batch is released: back in the queue with the
attempt refunded and `run_after` at the breaker's next probe, and the worker claims no
more analysis jobs until then (`accepting`). Any other failure is an ordinary job
failure (the worker's back-off); after the last attempt the analysis is `failed`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import traceback
import uuid
from collections.abc import Sequence
from typing import Any

from journal_api import settings as settings_module
from journal_api.clients import cache as cache_module
from journal_api.clients import inference
from journal_api.repositories import analyses as analyses_repo
from journal_api.repositories import audit as audit_repo
from journal_api.repositories import jobs as jobs_repo
from journal_api.services import jobs as jobs_service
from journal_api.services import safety, user_cache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)
# Results of one job, as counted in `journal_worker_jobs_total{result}`.
DONE, FAILED, REQUEUED, WAITING, RETRY, DEAD = (
    "done", "failed", "requeued", "waiting", "retry", "dead",
)  # fmt: skip
# A released batch waits at least this long, so a flapping server is not hammered.
MIN_RELEASE_SECONDS = 1.0


def analysis_text(title: str | None, content: str, *, max_chars: int) -> tuple[str, bool]:
    """The text the model reads (the title, if any, then the content) and whether it
    was clipped to ``max_chars``.

    The encoder reads 256 tokens; clipping far beyond that loses nothing and keeps the
    request under the server's per-text limit.
    """
    text = f"{title}\n\n{content}" if title and title.strip() else content
    return text[:max_chars], len(text) > max_chars


@dataclasses.dataclass(frozen=True)
class _Work:
    job: jobs_repo.ClaimedJob
    pending: analyses_repo.Pending
    text: str
    clipped: bool


@dataclasses.dataclass(frozen=True)
class _Rejected:
    reason: str


class Analyzer:
    """Analyses entries for the worker.

    Args:
        settings: batch size, text limit, attempts and back-off.
        client: the model server client (its breaker decides `accepting`).
        sessionmaker: sessions on the worker's engine.
        cache: where the owners' cached reads are invalidated; None skips that.
    """

    def __init__(
        self,
        settings: settings_module.Settings,
        *,
        client: inference.InferenceClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        cache: cache_module.Cache | None,
    ) -> None:
        self.settings = settings
        self.client = client
        self._sessionmaker = sessionmaker
        self._cache = cache

    def accepting(self) -> bool:
        """Whether to claim analysis jobs now (False while the breaker is open)."""
        return self.client.breaker.would_allow()

    async def run(
        self, jobs: Sequence[jobs_repo.ClaimedJob], *, worker: str
    ) -> dict[uuid.UUID, str]:
        """Analyse the entries of ``jobs`` and settle every job.

        Returns:
            Each job's result: done, failed (the text was rejected), requeued (edited
            meanwhile), waiting (server unavailable), retry or dead.
        """
        work, gone = await self._read(jobs)
        results: dict[uuid.UUID, str] = {}
        if gone:
            async with self._sessionmaker() as session:
                for job in gone:
                    await jobs_repo.complete(session, job_id=job.id, worker=worker)
                await session.commit()
            results.update(dict.fromkeys((job.id for job in gone), DONE))
        for start in range(0, len(work), self.settings.analysis_batch_texts):
            chunk = work[start : start + self.settings.analysis_batch_texts]
            results.update(await self._run_chunk(chunk, worker=worker))
        return results

    async def _read(
        self, jobs: Sequence[jobs_repo.ClaimedJob]
    ) -> tuple[list[_Work], list[jobs_repo.ClaimedJob]]:
        by_entry: dict[uuid.UUID, jobs_repo.ClaimedJob] = {}
        gone: list[jobs_repo.ClaimedJob] = []
        for job in jobs:
            try:
                by_entry[uuid.UUID(str(job.payload["entry_id"]))] = job
            except (KeyError, ValueError):
                logger.warning("analysis job without an entry id", extra={"job_id": str(job.id)})
                gone.append(job)  # a malformed payload can never succeed
        async with self._sessionmaker() as session:
            found = await analyses_repo.texts(session, entry_ids=list(by_entry))
        limit = self.settings.analysis_max_text_chars
        work = [
            _Work(by_entry.pop(p.entry_id), p, *analysis_text(p.title, p.content, max_chars=limit))
            for p in found
        ]
        return work, gone + list(by_entry.values())

    async def _run_chunk(self, work: list[_Work], *, worker: str) -> dict[uuid.UUID, str]:
        jobs = [w.job for w in work]
        try:
            outcomes, model = await self._analyze([w.text for w in work])
            screenings = await self._screen(work, outcomes, model_version=model[1])
        except inference.InferenceUnavailable as exc:
            delay = max(exc.retry_after, MIN_RELEASE_SECONDS)
            async with self._sessionmaker() as session:
                await jobs_repo.release(
                    session,
                    job_ids=[job.id for job in jobs],
                    worker=worker,
                    delay=dt.timedelta(seconds=delay),
                    error=str(exc),
                )
                await session.commit()
            return dict.fromkeys((job.id for job in jobs), WAITING)
        except inference.InferenceError as exc:
            return await self._record_failures(work, exc, worker=worker)
        return await self._store(work, outcomes, screenings, model, worker=worker)

    async def _analyze(
        self, texts: list[str]
    ) -> tuple[list[inference.TextAnalysis | _Rejected], tuple[str, str]]:
        try:
            answer = await self.client.analyze(texts)
            return list(answer.items), (answer.model_name, answer.model_version)
        except inference.InferenceRejected as exc:
            if len(texts) == 1:
                return [_Rejected(exc.reason)], ("", "")
        # One text spoilt the request: find it (and any other) one text at a time.
        outcomes: list[inference.TextAnalysis | _Rejected] = []
        model = ("", "")
        for text in texts:
            single, single_model = await self._analyze([text])
            outcomes.extend(single)
            model = single_model if single_model[1] else model
        return outcomes, model

    async def _screen(
        self,
        work: list[_Work],
        outcomes: list[inference.TextAnalysis | _Rejected],
        *,
        model_version: str,
    ) -> list[safety.Screening | None]:
        """The crisis screen of each analysed entry (None: rejected, or not embeddable).

        The whole title and content are screened, as the suggestion routes read them,
        not the text clipped for analysis: a crisis sentence at the end still counts.
        """
        analysed = [i for i, o in enumerate(outcomes) if not isinstance(o, _Rejected)]
        texts = [_screened_text(work[i].pending) for i in analysed]
        screenings: list[safety.Screening | None] = [None] * len(work)
        if not texts:
            return screenings
        try:
            found = await safety.screen_texts(
                texts,
                embed=self.client.embed,
                model=f"{self.client.base_url}#{model_version}",  # the routes' cache key
            )
        except inference.InferenceRejected as exc:
            # Stored unscreened (crisis_flagged null): the suggestion routes screen it live.
            logger.warning("crisis screen rejected", extra={"error": exc.reason})
            return screenings
        for index, screening in zip(analysed, found, strict=True):
            screenings[index] = screening
        return screenings

    async def _store(
        self,
        work: list[_Work],
        outcomes: list[inference.TextAnalysis | _Rejected],
        screenings: list[safety.Screening | None],
        model: tuple[str, str],
        *,
        worker: str,
    ) -> dict[uuid.UUID, str]:
        results: dict[uuid.UUID, str] = {}
        analysed_users: set[uuid.UUID] = set()
        model_name, model_version = model
        async with self._sessionmaker() as session:
            for item, outcome, screening in zip(work, outcomes, screenings, strict=True):
                if isinstance(outcome, _Rejected):
                    stored = await analyses_repo.fail(
                        session,
                        entry_id=item.pending.entry_id,
                        revision=item.pending.revision,
                        reason=f"the model server rejected the text: {outcome.reason}",
                        model_name=model_name or None,
                        model_version=model_version or None,
                    )
                    result = FAILED
                else:
                    verdict = _verdict(screening, item.pending.entry_id, model_version)
                    stored = await analyses_repo.store(
                        session,
                        entry_id=item.pending.entry_id,
                        revision=item.pending.revision,
                        values=_columns(outcome, model_name, model_version, clipped=item.clipped)
                        | verdict,
                    )
                    if stored and verdict["crisis_flagged"]:
                        # In the analysis's transaction: the event exists exactly when the
                        # verdict does. Its details hold ids and numbers, never the text.
                        await audit_repo.record(
                            session,
                            event_type=safety.EVENT_TYPE,
                            user_id=item.pending.user_id,
                            details=verdict["crisis_screening"],
                        )
                    result = DONE
                    if stored:
                        analysed_users.add(item.pending.user_id)
                results[item.job.id] = await self._settle(session, item, stored, result, worker)
            delay = dt.timedelta(seconds=self.settings.themes_refresh_delay_seconds)
            # In one order in every batch: each request takes a lock a finishing refresh of
            # that user waits for, and two batches taking them in opposite orders could
            # deadlock behind two such refreshes.
            for user_id in sorted(analysed_users):
                await jobs_service.queue_themes_refresh(session, user_id=user_id, delay=delay)
            await session.commit()
        await self._invalidate({item.pending.user_id for item in work})
        return results

    async def _settle(
        self, session: AsyncSession, item: _Work, stored: bool, result: str, worker: str
    ) -> str:
        if stored:
            await jobs_repo.complete(session, job_id=item.job.id, worker=worker)
            return result
        # Edited while we were analysing: its new text needs this job once more.
        await jobs_repo.reschedule(
            session, job_id=item.job.id, worker=worker, run_after=dt.datetime.now(dt.UTC)
        )
        return REQUEUED

    async def _record_failures(
        self, work: list[_Work], exc: Exception, *, worker: str
    ) -> dict[uuid.UUID, str]:
        error = "".join(traceback.format_exception_only(exc)).strip()
        results: dict[uuid.UUID, str] = {}
        async with self._sessionmaker() as session:
            for item in work:
                status = await jobs_repo.fail(
                    session,
                    job_id=item.job.id,
                    worker=worker,
                    error=error,
                    max_attempts=self.settings.worker_max_attempts,
                    delay=jobs_service.retry_delay(self.settings, item.job.attempts),
                )
                if status == jobs_repo.Status.DEAD:
                    await analyses_repo.fail(
                        session,
                        entry_id=item.pending.entry_id,
                        revision=item.pending.revision,
                        reason=f"analysis failed {item.job.attempts} times: {error}",
                    )
                results[item.job.id] = DEAD if status == jobs_repo.Status.DEAD else RETRY
            await session.commit()
        logger.warning("analysis failed", extra={"error": error, "jobs": len(work)})
        await self._invalidate({item.pending.user_id for item in work})
        return results

    async def _invalidate(self, user_ids: set[uuid.UUID]) -> None:
        if self._cache is None:
            return
        for user_id in user_ids:
            await user_cache.invalidate(self._cache, user_id=user_id)


def _screened_text(pending: analyses_repo.Pending) -> str:
    return f"{pending.title}\n{pending.content}" if pending.title else pending.content


def _verdict(
    screening: safety.Screening | None, entry_id: uuid.UUID, model_version: str
) -> dict[str, Any]:
    if screening is None:
        return {"crisis_flagged": None, "crisis_screening": None}
    return {
        "crisis_flagged": screening.flagged,
        "crisis_screening": safety.audit_details(
            screening, entry_id=entry_id, model_version=model_version or None
        ),
    }


def _columns(
    result: inference.TextAnalysis, model_name: str, model_version: str, *, clipped: bool
) -> dict[str, Any]:
    return {
        "failure_reason": None,
        "emotion_scores": result.emotion_scores,
        "emotion_labels": result.emotion_labels,
        "ekman": result.ekman,
        "sentiment": result.sentiment,
        "polarity": result.polarity,
        "embedding": result.embedding,
        "truncated": result.truncated or clipped,
        "model_name": model_name,
        "model_version": model_version,
        "analyzed_at": dt.datetime.now(dt.UTC),
    }
