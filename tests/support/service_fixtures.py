"""Session-scoped pytest fixtures that start real PostgreSQL (pgvector), Redis and a model server.

Each test session gets its own servers on free ports in a private folder, torn
down at the end; nothing here is mocked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.inference import InferenceServer
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    # Not tmp_path_factory: its folders are 0700 root, which the unprivileged
    # PostgreSQL user could not traverse.
    path = Path(tempfile.mkdtemp(prefix="journal-tests-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(services_dir: Path) -> Iterator[PostgresServer]:
    server = PostgresServer(services_dir / "postgres")
    server.start()
    yield server
    server.stop("immediate")


@pytest.fixture(scope="session")
def redis_server(services_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(services_dir / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def inference_server(services_dir: Path) -> Iterator[InferenceServer]:
    """The model server on the committed artifact, with default settings."""
    server = InferenceServer(services_dir / "inference" / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")
