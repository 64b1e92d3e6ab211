"""`python -m journal_api reanalyze` after a model-version change:

- analyses made by another model version (simulated by rewriting `model_version` in
  SQL) are queued, in batches with a progress line each, and current ones are not;
- the version to keep defaults to the one the model server reports;
- running it twice queues nothing twice, and the old analysis stays visible until the
  worker replaces it with the current model's;
- the command runs as a deployment would run it (a process configured by environment).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import httpx
from fastapi import FastAPI
from journal_api import reanalyzing
from journal_api import settings as settings_module
from sqlalchemy import text

from tests.journal_api import conftest
from tests.journal_api.conftest import MakeUser, analysis_worker, drain
from tests.support.inference import InferenceServer

ENTRIES = "/api/v1/entries"
OLD_VERSION = "0.9.0-test"


async def versions(app: FastAPI, entry_ids: list[str]) -> dict[str, str | None]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT entry_id, model_version FROM entry_analyses WHERE entry_id = ANY(:ids)"),
            {"ids": [uuid.UUID(entry_id) for entry_id in entry_ids]},
        )
        return {str(row.entry_id): row.model_version for row in rows}


async def queued(app: FastAPI, entry_ids: list[str]) -> list[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT payload->>'entry_id' AS entry_id FROM jobs "
                "WHERE kind = 'entry.analyze' AND payload->>'entry_id' = ANY(:ids)"
            ),
            {"ids": entry_ids},
        )
        return sorted(row.entry_id for row in rows)


async def test_analyses_of_another_model_version_are_queued_in_batches_and_replaced(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
    inference_server: InferenceServer,
) -> None:
    user = await make_analysis_user()
    entries = []
    for content in ("Rain all day.", "Baked bread.", "Long walk.", "Called my brother."):
        response = await analysis_client.post(
            ENTRIES, json={"content": content}, headers=user.headers
        )
        entries.append(response.json()["id"])
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    current = set((await versions(analysis_app, entries)).values())
    assert len(current) == 1
    assert None not in current
    outdated = sorted(entries[:2])
    async with analysis_app.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE entry_analyses SET model_version = :old WHERE entry_id = ANY(:ids)"),
            {"old": OLD_VERSION, "ids": [uuid.UUID(entry_id) for entry_id in outdated]},
        )
        await session.commit()

    lines: list[str] = []
    progress = await reanalyzing.run(analysis_settings, batch=1, report=lines.append)
    assert {progress.model_version} == current  # asked the model server
    assert progress.checked == progress.total >= 2
    assert progress.queued >= 2
    assert len(lines) == progress.total + 1  # the start, then one line per batch of 1
    assert lines[-1] == progress.line()
    assert await queued(analysis_app, entries) == outdated

    again = await reanalyzing.run(analysis_settings, batch=100, report=lines.append)
    assert again.queued == 0  # every outdated analysis already has its job
    assert await queued(analysis_app, entries) == outdated
    old = await analysis_client.get(f"{ENTRIES}/{outdated[0]}", headers=user.headers)
    assert old.json()["analysis"]["model_version"] == OLD_VERSION  # shown until replaced

    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    assert set((await versions(analysis_app, entries)).values()) == current
    assert await queued(analysis_app, entries) == []


def test_reanalyze_runs_as_a_command_configured_by_environment(
    analysis_settings: settings_module.Settings, inference_server: InferenceServer
) -> None:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("JOURNAL_API_")},
        "JOURNAL_API_DATABASE_URL": analysis_settings.database_url,
        "JOURNAL_API_REDIS_URL": analysis_settings.redis_url,
        "JOURNAL_API_JWT_KEY": conftest.TEST_JWT_KEY,
        "JOURNAL_API_INFERENCE_URL": inference_server.url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "journal_api", "reanalyze", "--batch-size", "50"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stdout.splitlines() if line.startswith("reanalyze: ")]
    assert progress[0].startswith("reanalyze: 0/")
    assert re.search(r" queued \(model version [^)]+\)$", progress[-1])
    assert "HTTP Request" not in done.stdout  # httpx's per-call INFO lines stay quiet

    refused = subprocess.run(
        [sys.executable, "-m", "journal_api", "reanalyze"],
        env={key: value for key, value in env.items() if key != "JOURNAL_API_INFERENCE_URL"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1
    assert "JOURNAL_API_INFERENCE_URL is not set; pass --model-version" in refused.stderr
