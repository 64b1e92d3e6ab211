"""A real `hack/dev.py` run for the tests in tests/dev: private data directory, free ports.

`DevRun` starts hack/dev.py as `make dev` would (the venv's Python, the repo root as working
directory), waits for the API, reads the banner, finds the services it started, and, after a
failed test, ends whatever of them is left, each by its id.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ports
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 300.0  # initdb, migrations and a cold model load on a busy 2-core machine
BANNER_END = "Ctrl-C stops everything"
MODEL_SERVER = "model-server"  # service_pids() key of `python -m journal_inference serve`


def process_state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None when it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] == "Z" else (fields[0], int(fields[1]))


def alive(pid: int) -> bool:
    return process_state(pid) is not None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (state := process_state(int(entry.name))) and state[1] == pid:
            found.append(int(entry.name))
    return found


def _service_name(pid: int) -> str:
    with contextlib.suppress(FileNotFoundError):
        if b"journal_inference" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return MODEL_SERVER
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


class DevRun:
    """One `hack/dev.py` with its own data directory and ports, and its log."""

    def __init__(self, workdir: Path) -> None:
        self.data_dir = workdir / "data"
        self.log = workdir / "dev.log"
        self.api_port = ports.free_port()
        self.inference_port = ports.free_port()
        self.env = {
            **os.environ,
            "JOURNAL_DEV_DATA_DIR": str(self.data_dir),
            "JOURNAL_API_PORT": str(self.api_port),
            "JOURNAL_INFERENCE_PORT": str(self.inference_port),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.pids: dict[str, int] = {}

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "hack" / "dev.py")],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_api_answers(self) -> None:
        """Wait for the API (which hack/dev.py starts last), then note every service's pid."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                pytest.fail(f"hack/dev.py exited early ({status}):\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.api_port}/healthz", timeout=2).is_success:
                    self.pids = self._service_pids()
                    return
            time.sleep(0.5)
        pytest.fail(f"the API did not answer within {STARTUP_TIMEOUT_S:.0f}s:\n{self.output()}")

    def banner(self) -> list[str]:
        lines = self.output().splitlines()
        end = next(i for i, line in enumerate(lines) if line.startswith(BANNER_END))
        return lines[:end]

    def _service_pids(self) -> dict[str, int]:
        """PostgreSQL (daemonised by pg_ctl) and every child of hack/dev.py, by name."""
        assert self.process is not None
        pid_file = self.data_dir / "postgres" / "data" / "postmaster.pid"
        services = {"postgres": int(pid_file.read_text().splitlines()[0])}
        for pid in _children(self.process.pid):
            services[_service_name(pid)] = pid
        return services

    def stop_leftovers(self) -> None:
        """End what this run started, by its id, so nothing outlives the test."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if (self.data_dir / "postgres" / "data" / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                PostgresServer(self.data_dir / "postgres").stop("immediate")
        for name, pid in self.pids.items():
            if name != "postgres" and alive(pid):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def dev_run() -> Iterator[DevRun]:
    """A started `hack/dev.py` whose API answers; whatever is left of it is ended afterwards."""
    # Not tmp_path: as root, PostgreSQL runs as `nobody`, which cannot enter pytest's
    # root-only temporary folders; hack/dev.py opens up only the data dir and its parent.
    workdir = Path(tempfile.mkdtemp(prefix="journal-dev-test-"))
    run = DevRun(workdir)
    try:
        run.start()
        run.wait_until_api_answers()
        yield run
    finally:
        run.stop_leftovers()
        shutil.rmtree(workdir, ignore_errors=True)
