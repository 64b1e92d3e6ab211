"""`python -m journal_api worker` as a deployment runs it: configured only through
`JOURNAL_API_*` variables, it processes a queued job, answers its liveness probe and
metrics on `JOURNAL_API_WORKER_HEALTH_PORT`, logs JSON lines, and exits cleanly (status
0) on SIGTERM. Given `JOURNAL_API_INFERENCE_URL`, it analyses entries with that model
server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from journal_api import settings as settings_module

from tests.journal_api import conftest
from tests.support import ports
from tests.support.inference import InferenceServer
from tests.support.postgres import PostgresServer

WORD = "orphanedword"


def worker_env(settings: settings_module.Settings, health_port: int) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("JOURNAL_API_")},
        "JOURNAL_API_ENVIRONMENT": "development",
        "JOURNAL_API_DATABASE_URL": settings.database_url,
        "JOURNAL_API_REDIS_URL": settings.redis_url,
        "JOURNAL_API_JWT_KEY": conftest.TEST_JWT_KEY,
        "JOURNAL_API_WORKER_HEALTH_PORT": str(health_port),
        "JOURNAL_API_WORKER_POLL_SECONDS": "0.1",
    }


def wait_until(condition: Callable[[], bool], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_worker_process_runs_a_job_and_stops_on_sigterm(
    outbox_settings: settings_module.Settings, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    database = outbox_settings.database_url.rsplit("/", 1)[1]
    user_id = uuid.uuid4()
    # Only generated UUIDs and constants are formatted into this SQL.
    postgres_server.psql(
        f"INSERT INTO users (id, email, password_hash) VALUES ('{user_id}', "  # noqa: S608
        f"'worker-{user_id.hex}@example.com', 'x'); "
        f"INSERT INTO search_terms (user_id, word) VALUES ('{user_id}', '{WORD}'); "
        f"INSERT INTO jobs (id, kind, user_id) VALUES "
        f"(gen_random_uuid(), 'search_terms.refresh', '{user_id}')",
        database,
    )
    health_port = ports.free_port()
    log_file = tmp_path / "worker.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "journal_api", "worker"],
            env=worker_env(outbox_settings, health_port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        remaining = f"SELECT count(*) FROM search_terms WHERE user_id = '{user_id}'"  # noqa: S608
        wait_until(lambda: postgres_server.psql(remaining, database) == "0")
        ports.wait_for_port(health_port, timeout=30)
        base = f"http://127.0.0.1:{health_port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        scraped = httpx.get(f"{base}/metrics").text
        assert 'journal_worker_jobs_total{kind="search_terms.refresh",result="done"} 1.0' in scraped

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    messages = [line["msg"] for line in lines]
    assert "job finished" in messages
    assert messages[-1] == "worker stopped"
    assert not [line for line in lines if line["level"] == "ERROR"]


def test_worker_process_analyses_an_entry_with_the_model_server_it_is_given(
    outbox_settings: settings_module.Settings,
    postgres_server: PostgresServer,
    inference_server: InferenceServer,
    tmp_path: Path,
) -> None:
    database = outbox_settings.database_url.rsplit("/", 1)[1]
    user_id, entry_id = uuid.uuid4(), uuid.uuid4()
    # Only generated UUIDs and constants are formatted into this SQL.
    postgres_server.psql(
        f"INSERT INTO users (id, email, password_hash) VALUES ('{user_id}', "  # noqa: S608
        f"'analysed-{user_id.hex}@example.com', 'x'); "
        f"INSERT INTO entries (id, user_id, content, entry_date) VALUES ('{entry_id}', "
        f"'{user_id}', 'A slow Sunday with coffee and the crossword.', current_date); "
        f"INSERT INTO entry_analyses (entry_id, user_id) VALUES ('{entry_id}', '{user_id}'); "
        f"INSERT INTO jobs (id, kind, user_id, payload, dedupe_key) VALUES (gen_random_uuid(), "
        f"'entry.analyze', '{user_id}', '{{\"entry_id\": \"{entry_id}\"}}', "
        f"'entry.analyze:{entry_id}')",
        database,
    )
    env = {
        **worker_env(outbox_settings, ports.free_port()),
        "JOURNAL_API_INFERENCE_URL": inference_server.url,
    }
    log_file = tmp_path / "worker.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "journal_api", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        # Only a generated UUID is formatted into this SQL.
        status = "SELECT status || ' ' || vector_dims(embedding) FROM entry_analyses "
        status += f"WHERE entry_id = '{entry_id}'"
        wait_until(lambda: postgres_server.psql(status, database) == "done 384")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    messages = [json.loads(line)["msg"] for line in log_file.read_text().splitlines() if line]
    assert "analysis batch finished" in messages
