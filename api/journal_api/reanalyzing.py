"""`python -m journal_api reanalyze [--model-version V]`: queue analyses made by another model.

After the model server is upgraded, entries keep the analysis of the old model until
this runs. It pages through `entry_analyses` in entry-id order, `--batch-size` rows per
transaction, and queues an `entry.analyze` job for every analysis whose
`model_version` is not ``V`` (default: the version the model server reports now), and
for every one still pending. A job already queued or running for an entry is not
duplicated (the job's dedupe key), so the command is safe to run again or while the
worker runs; the old analysis stays visible until the new one replaces it. It prints
one progress line per batch; the worker does the analysing.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from journal_api import db
from journal_api import settings as settings_module
from journal_api.clients import inference
from journal_api.models import job as job_model
from journal_api.repositories import analyses as analyses_repo
from journal_api.repositories import jobs as jobs_repo

logger = logging.getLogger(__name__)
DEFAULT_BATCH = 500


@dataclasses.dataclass(frozen=True)
class Progress:
    model_version: str
    total: int  # analyses not made by the model version when the run started
    checked: int
    queued: int  # the rest already had a live job

    def line(self) -> str:
        return (
            f"reanalyze: {self.checked}/{self.total} outdated analyses checked, "
            f"{self.queued} queued (model version {self.model_version})"
        )


async def current_version(settings: settings_module.Settings) -> str:
    """The analyzer version the model server runs now.

    Raises:
        SystemExit: no model server is configured or it does not answer.
    """
    client = inference.InferenceClient.from_settings(settings)
    if client is None:
        raise SystemExit("reanalyze: JOURNAL_API_INFERENCE_URL is not set; pass --model-version")
    try:
        return await client.model_version()
    except inference.InferenceError as exc:
        raise SystemExit(f"reanalyze: cannot ask the model server its version: {exc}") from exc
    finally:
        await client.aclose()


async def run(
    settings: settings_module.Settings,
    *,
    model_version: str | None = None,
    batch: int = DEFAULT_BATCH,
    report: Callable[[str], None] = print,
) -> Progress:
    """Queue every analysis not made by ``model_version``; see the module docstring.

    Args:
        settings: the database (and, without a version, the model server).
        model_version: the version to keep; None asks the model server.
        batch: rows per transaction.
        report: receives one progress line per batch.
    """
    version = model_version or await current_version(settings)
    engine = db.make_engine(settings, pooled=False)
    sessionmaker = db.make_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            total = await analyses_repo.count_outdated(session, model_version=version)
        progress = Progress(version, total, 0, 0)
        report(progress.line())
        after: uuid.UUID | None = None
        while rows := await _next_batch(sessionmaker, version=version, after=after, batch=batch):
            async with sessionmaker() as session:
                queued = await jobs_repo.enqueue_unique(
                    session,
                    kind=job_model.Kind.ANALYZE_ENTRY,
                    jobs=[
                        (
                            user_id,
                            {"entry_id": str(entry_id)},
                            job_model.analyze_entry_key(entry_id),
                        )
                        for entry_id, user_id in rows
                    ],
                )
                await session.commit()
            after = rows[-1][0]
            progress = dataclasses.replace(
                progress, checked=progress.checked + len(rows), queued=progress.queued + queued
            )
            report(progress.line())
        logger.info("reanalyze finished", extra=dataclasses.asdict(progress))
        return progress
    finally:
        await engine.dispose()


async def _next_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    version: str,
    after: uuid.UUID | None,
    batch: int,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    async with sessionmaker() as session:
        return await analyses_repo.outdated(
            session, model_version=version, after=after, batch=batch
        )
