"""How the worker claims and finishes jobs: `FOR UPDATE SKIP LOCKED` hands every job to
exactly one of several workers running side by side; a failing handler is retried after
a back-off and marked `dead` with its error after the last attempt; the periodic token
purge deletes only long-dead refresh tokens. Runs on a database of its own
(`outbox_settings`), so no other test's jobs are in the way."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from journal_api import db, metrics, working
from journal_api import settings as settings_module
from journal_api.models import base
from journal_api.repositories import jobs as jobs_repo
from journal_api.services import jobs as jobs_service
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.postgres import PostgresServer

RECORD = "test.record"
EXPLODE = "test.explode"
PARALLEL_JOBS = 120


@pytest.fixture
async def sessionmaker(
    outbox_settings: settings_module.Settings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.make_engine(outbox_settings)
    makers = db.make_sessionmaker(engine)
    async with makers() as session:
        await session.execute(text("DELETE FROM jobs"))
        await session.commit()
    yield makers
    await engine.dispose()


def make_worker(
    settings: settings_module.Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    handlers: dict[str, jobs_service.Handler],
    **overrides: Any,
) -> working.Worker:
    return working.Worker(
        settings.model_copy(update=overrides),
        sessionmaker=sessionmaker,
        metrics=metrics.WorkerMetrics(),
        handlers=handlers,
    )


async def enqueue(sessionmaker: async_sessionmaker[AsyncSession], kind: str, count: int) -> None:
    async with sessionmaker() as session:
        for n in range(count):
            await jobs_repo.enqueue(session, kind=kind, payload={"n": n})
        await session.commit()


async def drain(worker: working.Worker) -> None:
    while await worker.run_once():
        pass


async def job_rows(sessionmaker: async_sessionmaker[AsyncSession], kind: str) -> list[Any]:
    async with sessionmaker() as session:
        result = await session.execute(
            text("SELECT status, attempts, last_error, run_after FROM jobs WHERE kind = :k"),
            {"k": kind},
        )
        return list(result)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return [d for d in compare_metadata(context, base.metadata) if "'jobs'" in repr(d)]


async def test_the_jobs_table_matches_its_model(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        connection = await session.connection()
        assert await connection.run_sync(_differences) == []


async def test_two_workers_never_run_the_same_job(
    outbox_settings: settings_module.Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    runs: list[tuple[str, int]] = []

    def recorder(name: str) -> jobs_service.Handler:
        async def record(session: AsyncSession, job: jobs_repo.ClaimedJob, _: object) -> None:
            runs.append((name, job.payload["n"]))
            await asyncio.sleep(0.001)  # hand the other worker a chance to claim meanwhile

        return record

    await enqueue(sessionmaker, RECORD, PARALLEL_JOBS)
    first = make_worker(outbox_settings, sessionmaker, {RECORD: recorder("a")}, worker_batch_size=4)
    second = make_worker(
        outbox_settings, sessionmaker, {RECORD: recorder("b")}, worker_batch_size=4
    )
    await asyncio.gather(drain(first), drain(second))

    numbers = [n for _, n in runs]
    assert sorted(numbers) == list(range(PARALLEL_JOBS))
    assert {name for name, _ in runs} == {"a", "b"}
    assert await job_rows(sessionmaker, RECORD) == []


async def test_a_failing_job_is_retried_then_marked_dead_with_its_error(
    outbox_settings: settings_module.Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    attempts: list[int] = []

    async def explode(session: AsyncSession, job: jobs_repo.ClaimedJob, _: object) -> None:
        attempts.append(job.attempts)
        raise RuntimeError("the model server said no")

    await enqueue(sessionmaker, EXPLODE, 1)
    worker = make_worker(
        outbox_settings,
        sessionmaker,
        {EXPLODE: explode},
        worker_max_attempts=3,
        worker_retry_base_seconds=0,
    )
    await drain(worker)

    assert attempts == [1, 2, 3]
    [(status, tries, error, _)] = await job_rows(sessionmaker, EXPLODE)
    assert (status, tries) == ("dead", 3)
    assert "RuntimeError: the model server said no" in error
    assert await worker.run_once() == 0  # dead jobs are never claimed again


async def test_a_failed_job_waits_out_its_back_off(
    outbox_settings: settings_module.Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async def explode(session: AsyncSession, job: jobs_repo.ClaimedJob, _: object) -> None:
        raise RuntimeError("not yet")

    await enqueue(sessionmaker, EXPLODE, 1)
    worker = make_worker(
        outbox_settings, sessionmaker, {EXPLODE: explode}, worker_retry_base_seconds=600
    )
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    [(status, tries, error, _)] = await job_rows(sessionmaker, EXPLODE)
    assert (status, tries) == ("queued", 1)
    assert "not yet" in error


async def test_a_job_of_an_unknown_kind_is_dead_at_once(
    outbox_settings: settings_module.Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await enqueue(sessionmaker, "test.nobody-handles-this", 1)
    await drain(make_worker(outbox_settings, sessionmaker, {}))
    [(status, tries, error, _)] = await job_rows(sessionmaker, "test.nobody-handles-this")
    assert (status, tries) == ("dead", 1)
    assert "no handler" in error


async def test_token_purge_deletes_only_long_dead_tokens_and_reschedules_itself(
    outbox_settings: settings_module.Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user_id = uuid.uuid4()
    async with sessionmaker() as session:
        await session.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:id, :email, 'x')"),
            {"id": user_id, "email": f"purge-{user_id.hex}@example.com"},
        )
        await session.execute(
            text(
                "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, "
                "revoked_at) VALUES "
                "(gen_random_uuid(), :u, gen_random_uuid(), :h1, now() - interval '30 days', NULL),"
                "(gen_random_uuid(), :u, gen_random_uuid(), :h2, now() + interval '1 day', "
                "  now() - interval '30 days'),"
                "(gen_random_uuid(), :u, gen_random_uuid(), :h3, now() - interval '1 day', NULL),"
                "(gen_random_uuid(), :u, gen_random_uuid(), :h4, now() + interval '1 day', NULL)"
            ),
            {"u": user_id, **{f"h{n}": uuid.uuid4().hex for n in range(1, 5)}},
        )
        # Failed-login counts: decayed (purged), recent, and an old one still locked.
        await session.execute(
            text(
                "INSERT INTO login_failures (subject, failures, last_failure_at, locked_until) "
                "VALUES (:s1, 2, now() - interval '2 days', NULL), (:s2, 2, now(), NULL), "
                "(:s3, 5, now() - interval '2 days', now() + interval '1 hour')"
            ),
            {f"s{n}": f"{user_id.hex}-{n}" for n in range(1, 4)},
        )
        await session.commit()
    await drain(make_worker(outbox_settings, sessionmaker, jobs_service.HANDLERS))
    async with sessionmaker() as session:
        failures_left = await session.scalar(
            text(
                "SELECT string_agg(subject, ',' ORDER BY subject) FROM login_failures "
                "WHERE subject LIKE :p"
            ),
            {"p": f"{user_id.hex}-%"},
        )
    assert failures_left == f"{user_id.hex}-2,{user_id.hex}-3"

    async with sessionmaker() as session:
        left = await session.scalar(
            text("SELECT count(*) FROM refresh_tokens WHERE user_id = :u"), {"u": user_id}
        )
    assert left == 2  # recently expired and live tokens stay
    [(status, tries, _, run_after)] = await job_rows(sessionmaker, "tokens.purge_expired")
    assert (status, tries) == ("queued", 0)
    async with sessionmaker() as session:
        later = await session.scalar(
            text("SELECT :t > now() + interval '30 minutes'"), {"t": run_after}
        )
    assert later


@pytest.mark.slow
async def test_the_worker_carries_on_after_postgres_goes_away_and_returns(
    outbox_settings: settings_module.Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    postgres_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    done = asyncio.Event()
    runs: list[int] = []

    async def record(session: AsyncSession, job: jobs_repo.ClaimedJob, _: object) -> None:
        runs.append(job.payload["n"])
        done.set()

    worker = make_worker(outbox_settings, sessionmaker, {RECORD: record}, worker_poll_seconds=0.05)
    loop = asyncio.create_task(worker.run())
    try:
        await enqueue(sessionmaker, RECORD, 1)
        await asyncio.wait_for(done.wait(), timeout=60)
        done.clear()
        await asyncio.to_thread(postgres_server.stop, "immediate")
        try:
            await asyncio.sleep(0.5)  # the loop keeps turning against a dead server
        finally:
            await asyncio.to_thread(postgres_server.start)
        await enqueue(sessionmaker, RECORD, 1)
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        worker.stop()
        await asyncio.wait_for(loop, timeout=60)
    assert runs == [0, 0]
    assert "database unavailable, retrying" in caplog.messages
