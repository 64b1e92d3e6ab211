"""The worker loop behind `python -m journal_api worker`: drain the `jobs` outbox.

Each turn of the loop (1) schedules the periodic jobs if they are missing, (2) claims a
batch of due jobs (`repositories/jobs.claim`, `FOR UPDATE SKIP LOCKED`, so any number of
workers can run side by side), and (3) runs each job's handler (`services/jobs.py`) in
its own transaction, committing its effects with the job's removal. A failure queues the
job again after an exponential back-off, or marks it `dead` after the last attempt.

`entry.analyze` jobs are not run one by one: the batch's analysis jobs go to
`services/analysis.Analyzer` together, so their texts share one model-server request.
While the model server is unavailable (its circuit breaker is open) or not configured,
the claim leaves analysis jobs in the queue, so they wait without spending attempts.
Between turns the worker sleeps until a job is queued (`wakeup.py`: `LISTEN`/`NOTIFY`)
or its poll interval ends, so a new entry is analysed at once.

Why it keeps going: a database error (PostgreSQL restarting, the network gone) ends the
turn, is logged, and the loop retries with a capped back-off; the pooled engine
pre-pings, so once PostgreSQL answers again the worker simply carries on. SIGTERM or
SIGINT stops the loop after the batch in hand, so no claimed job is abandoned mid-run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import socket
import time
import traceback
import uuid

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from journal_api import db, liveness, wakeup
from journal_api import metrics as metrics_module
from journal_api import settings as settings_module
from journal_api.clients import cache as cache_module
from journal_api.clients import inference
from journal_api.models import job as job_model
from journal_api.repositories import jobs as jobs_repo
from journal_api.services import analysis as analysis_service
from journal_api.services import jobs as jobs_service
from journal_api.services import user_cache

logger = logging.getLogger(__name__)
# How often periodic jobs are checked for (a cheap no-op insert when they exist).
SCHEDULE_EVERY_SECONDS = 60.0
MAX_OUTAGE_BACKOFF_SECONDS = 30.0
# What a lost database looks like from here; anything else in a handler is a job failure.
DATABASE_ERRORS = (sa_exc.SQLAlchemyError, OSError)


def worker_name() -> str:
    """Host, pid and a random suffix: unique per process, readable in `locked_by`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims and runs jobs until `stop()`.

    Args:
        settings: batch size, poll interval, attempts, back-off, lease.
        sessionmaker: sessions on the worker's engine.
        metrics: where runs and queue depth are recorded.
        handlers: kind -> handler; `services/jobs.HANDLERS` unless a test swaps some in.
        name: the `locked_by` of this worker's claims.
        analyzer: runs `entry.analyze` jobs; None leaves them queued (no model server).
        listener: wakes the loop when a job is queued (`wakeup.py`); None polls only.
        cache: whose per-user generation is bumped after a job that changes cached
            reads (`services/jobs.INVALIDATE_USER_CACHE`); None skips that.
    """

    def __init__(
        self,
        settings: settings_module.Settings,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: metrics_module.WorkerMetrics,
        handlers: dict[str, jobs_service.Handler] | None = None,
        name: str | None = None,
        analyzer: analysis_service.Analyzer | None = None,
        listener: wakeup.Listener | None = None,
        cache: cache_module.Cache | None = None,
    ) -> None:
        self.settings = settings
        self._cache = cache
        self.listener = listener
        self.analyzer = analyzer
        self.name = name or worker_name()
        self.metrics = metrics
        self._sessionmaker = sessionmaker
        self._handlers = jobs_service.HANDLERS if handlers is None else handlers
        # A worker schedules only the periodic kinds it can run itself.
        self._periodic = {
            kind: interval
            for kind, interval in jobs_service.periodic(settings).items()
            if kind in self._handlers
        }
        self._stopping = asyncio.Event()
        self._next_schedule = 0.0
        self.last_beat = time.monotonic()

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run`."""
        self._stopping.set()

    def alive(self) -> bool:
        """Whether the loop turned recently (the liveness probe)."""
        return time.monotonic() - self.last_beat < self.settings.worker_lease_seconds

    async def run(self) -> None:
        """Loop until `stop()`; database outages are waited out, not fatal."""
        logger.info("worker started", extra={"worker": self.name})
        outages = 0
        while not self._stopping.is_set():
            self.last_beat = time.monotonic()
            if self.listener is not None:
                await self.listener.ensure()
                # A job queued from here on wakes the next sleep at once.
                self.listener.event.clear()
            try:
                claimed = await self.run_once()
            except DATABASE_ERRORS as exc:
                outages += 1
                delay = min(
                    self.settings.worker_poll_seconds * 2 ** min(outages, 16),
                    MAX_OUTAGE_BACKOFF_SECONDS,
                )
                logger.warning(
                    "database unavailable, retrying",
                    extra={"error": type(exc).__name__, "retry_in_s": delay},
                )
                await self._sleep(delay)
                continue
            if outages:
                logger.info("database is back")
                outages = 0
            if claimed < self.settings.worker_batch_size:
                await self._sleep(self.settings.worker_poll_seconds)
        logger.info("worker stopped", extra={"worker": self.name})

    async def run_once(self) -> int:
        """One turn: schedule, claim a batch, run it. Returns how many jobs were claimed."""
        if time.monotonic() >= self._next_schedule:
            await self._schedule_periodic()
            self._next_schedule = time.monotonic() + SCHEDULE_EVERY_SECONDS
        async with self._sessionmaker() as session:
            jobs = await jobs_repo.claim(
                session,
                worker=self.name,
                batch=self.settings.worker_batch_size,
                lease=dt.timedelta(seconds=self.settings.worker_lease_seconds),
                skip_kinds=self._waiting_kinds(),
            )
            await session.commit()
        analyses = [job for job in jobs if job.kind == job_model.Kind.ANALYZE_ENTRY]
        for job in jobs:
            if job.kind != job_model.Kind.ANALYZE_ENTRY:
                self.last_beat = time.monotonic()
                await self._process(job)
        if analyses:
            self.last_beat = time.monotonic()
            await self._process_analyses(analyses)
        return len(jobs)

    def _waiting_kinds(self) -> list[str]:
        """Kinds to leave in the queue this turn: their model server is away or unset."""
        accepting = self.analyzer is not None and self.analyzer.accepting()
        self.metrics.breaker_open.set(0 if accepting or self.analyzer is None else 1)
        return [] if accepting else [job_model.Kind.ANALYZE_ENTRY]

    async def _process_analyses(self, jobs: list[jobs_repo.ClaimedJob]) -> None:
        assert self.analyzer is not None  # claimed only when there is one
        started = time.perf_counter()
        try:
            results = await self.analyzer.run(jobs, worker=self.name)
        except Exception as exc:  # as for any handler: a bug fails the jobs, not the loop
            results = {job.id: await self._record_failure(job, exc) for job in jobs}
        elapsed = (time.perf_counter() - started) / len(jobs)
        for job in jobs:
            result = results.get(job.id, "error")
            self.metrics.jobs.labels(job.kind, result).inc()
            self.metrics.job_duration.labels(job.kind).observe(elapsed)
        counts = {result: list(results.values()).count(result) for result in set(results.values())}
        logger.info("analysis batch finished", extra={"jobs": len(jobs), "results": counts})

    async def _sleep(self, seconds: float) -> None:
        # Wakes at once on stop(), so SIGTERM never waits out a poll interval, and on a
        # job notification, so new work does not wait for one either.
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if self.listener is not None and self.listener.listening:
            waits.append(asyncio.ensure_future(self.listener.event.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _schedule_periodic(self) -> None:
        async with self._sessionmaker() as session:
            for kind in self._periodic:
                await jobs_repo.schedule_once(session, kind=kind, run_after=_utcnow())
            counts = await jobs_repo.counts(session)
            await session.commit()
        for status in (jobs_repo.Status.QUEUED, jobs_repo.Status.RUNNING, jobs_repo.Status.DEAD):
            self.metrics.queue.labels(status).set(counts.get(status, 0))

    async def _process(self, job: jobs_repo.ClaimedJob) -> None:
        started = time.perf_counter()
        try:
            handler = self._handlers.get(job.kind)
            if handler is None:
                raise jobs_service.PermanentJobError(f"no handler for job kind {job.kind!r}")
            async with self._sessionmaker() as session:
                await handler(session, job, self.settings)
                await self._finish(session, job)
                await session.commit()
            if (
                self._cache is not None
                and job.user_id is not None
                and job.kind in jobs_service.INVALIDATE_USER_CACHE
            ):
                await user_cache.invalidate(self._cache, user_id=job.user_id)
            result = "done"
        except Exception as exc:  # any handler failure is recorded on the job
            result = await self._record_failure(job, exc)
        self.metrics.jobs.labels(job.kind, result).inc()
        self.metrics.job_duration.labels(job.kind).observe(time.perf_counter() - started)
        logger.info(
            "job finished",
            extra={
                "job_id": str(job.id),
                "kind": job.kind,
                "result": result,
                "attempt": job.attempts,
            },
        )

    async def _finish(self, session: AsyncSession, job: jobs_repo.ClaimedJob) -> None:
        interval = self._periodic.get(job.kind)
        if interval is None:
            await jobs_repo.complete(session, job_id=job.id, worker=self.name)
        else:
            await jobs_repo.reschedule(
                session, job_id=job.id, worker=self.name, run_after=_utcnow() + interval
            )

    async def _record_failure(self, job: jobs_repo.ClaimedJob, exc: Exception) -> str:
        permanent = isinstance(exc, jobs_service.PermanentJobError)
        error = "".join(traceback.format_exception_only(exc)).strip()
        try:
            async with self._sessionmaker() as session:
                status = await jobs_repo.fail(
                    session,
                    job_id=job.id,
                    worker=self.name,
                    error=error,
                    max_attempts=job.attempts if permanent else self.settings.worker_max_attempts,
                    delay=jobs_service.retry_delay(self.settings, job.attempts),
                )
                await session.commit()
        except DATABASE_ERRORS:
            # The lease runs out and another turn claims the job again.
            logger.warning("could not record a job failure", extra={"job_id": str(job.id)})
            return "error"
        result = "dead" if status == jobs_repo.Status.DEAD else "retry"
        log = logger.error if result == "dead" else logger.warning
        log("job failed", extra={"job_id": str(job.id), "kind": job.kind, "error": error})
        return result


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def serve(settings: settings_module.Settings) -> None:
    """Run a worker process until SIGTERM/SIGINT: engine, liveness listener, loop."""
    engine = db.make_engine(settings)
    sessionmaker = db.make_sessionmaker(engine)
    metrics = metrics_module.WorkerMetrics()
    # Only to invalidate cached reads after an analysis or a themes refresh lands; its
    # counters go unserved.
    cache = cache_module.Cache(
        settings.redis_url,
        metrics=metrics_module.Metrics(),
        timeout=settings.cache_timeout_seconds,
        retry_seconds=settings.cache_retry_seconds,
    )
    client = inference.InferenceClient.from_settings(settings)
    analyzer = None
    if client is not None:
        analyzer = analysis_service.Analyzer(
            settings, client=client, sessionmaker=sessionmaker, cache=cache
        )
    else:
        logger.warning("JOURNAL_API_INFERENCE_URL is not set: analysis jobs stay queued")
    listener = wakeup.Listener(settings.database_url)
    worker = Worker(
        settings,
        sessionmaker=sessionmaker,
        metrics=metrics,
        analyzer=analyzer,
        listener=listener,
        cache=cache,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop)
    server = None
    if settings.worker_health_port:
        server = await liveness.start(
            host=settings.host,
            port=settings.worker_health_port,
            alive=worker.alive,
            metrics=metrics.render,
        )
        logger.info("worker health listener", extra={"port": settings.worker_health_port})
    try:
        await worker.run()
    finally:
        await listener.close()
        if server is not None:
            server.close()
            await server.wait_closed()
        if client is not None:
            await client.aclose()
        await cache.close()
        await engine.dispose()
