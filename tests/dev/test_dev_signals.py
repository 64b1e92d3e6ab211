"""`make dev` (hack/dev.py) stops every service it started when told to stop, by any signal.

A process manager, a CI runner or `timeout 60 make dev` sends SIGTERM to the one process it
started; PostgreSQL and Redis run beside it and must not outlive it. The test starts the real
hack/dev.py on free ports and a private data directory, waits until the API answers, sends
SIGTERM to hack/dev.py alone (the harder case: the services get no signal of their own), and
checks that it exits promptly and that none of the services is left running.
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
STOP_TIMEOUT_S = 30.0


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None when it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] == "Z" else (fields[0], int(fields[1]))


def _alive(pid: int) -> bool:
    return _stat(pid) is not None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == pid:
            found.append(int(entry.name))
    return found


def _command_name(pid: int) -> str:
    with contextlib.suppress(FileNotFoundError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


class DevRun:
    """One `hack/dev.py` with its own data directory and ports, and its log."""

    def __init__(self, workdir: Path) -> None:
        self.data_dir = workdir / "data"
        self.log = workdir / "dev.log"
        self.api_port = ports.free_port()
        self.env = {
            **os.environ,
            "JOURNAL_DEV_DATA_DIR": str(self.data_dir),
            "JOURNAL_API_PORT": str(self.api_port),
        }
        self.process: subprocess.Popen[bytes] | None = None

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
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                pytest.fail(f"hack/dev.py exited early ({status}):\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.api_port}/healthz", timeout=2).is_success:
                    return
            time.sleep(0.5)
        pytest.fail(f"the API did not answer within {STARTUP_TIMEOUT_S:.0f}s:\n{self.output()}")

    def postgres_pid(self) -> int:
        pid_file = self.data_dir / "postgres" / "data" / "postmaster.pid"
        return int(pid_file.read_text().splitlines()[0])

    def service_pids(self) -> dict[str, int]:
        """Every service hack/dev.py runs: PostgreSQL (daemonised by pg_ctl) and its children."""
        assert self.process is not None
        services = {"postgres": self.postgres_pid()}
        for pid in _children(self.process.pid):
            services[_command_name(pid)] = pid
        return services

    def stop_leftovers(self, pids: dict[str, int]) -> None:
        """After a failure: end what this run started, by its id, so nothing outlives the test."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if (self.data_dir / "postgres" / "data" / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                PostgresServer(self.data_dir / "postgres").stop("immediate")
        for name, pid in pids.items():
            if name != "postgres" and _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def dev_run() -> Iterator[DevRun]:
    # Not tmp_path: as root, PostgreSQL runs as `nobody`, which cannot enter pytest's
    # root-only temporary folders; hack/dev.py opens up only the data dir and its parent.
    workdir = Path(tempfile.mkdtemp(prefix="journal-dev-test-"))
    run = DevRun(workdir)
    try:
        yield run
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.slow
def test_sigterm_stops_every_service_and_exits_promptly(dev_run: DevRun) -> None:
    dev_run.start()
    pids: dict[str, int] = {}
    try:
        dev_run.wait_until_api_answers()
        pids = dev_run.service_pids()
        assert pids.keys() >= {"postgres", "valkey-server"}, pids
        assert all(_alive(pid) for pid in pids.values()), pids

        assert dev_run.process is not None
        sent = time.monotonic()
        dev_run.process.send_signal(signal.SIGTERM)
        try:
            status = dev_run.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"hack/dev.py still runs {STOP_TIMEOUT_S:.0f}s after SIGTERM")
        took = time.monotonic() - sent

        output = dev_run.output()
        assert status == 0, output
        left = {name: pid for name, pid in pids.items() if _alive(pid)}
        assert not left, f"still running after SIGTERM: {left}\n{output}"
        assert "==> stopping" in output
        assert not ports.port_is_open(dev_run.api_port)
        assert took < STOP_TIMEOUT_S
    finally:
        dev_run.stop_leftovers(pids)
