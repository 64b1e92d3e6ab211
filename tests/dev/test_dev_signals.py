"""`make dev` (hack/dev.py) stops every service it started when told to stop by SIGTERM.

A process manager, a CI runner or `timeout 60 make dev` sends SIGTERM to the one process it
started; PostgreSQL, Redis and the model server run beside it and must not outlive it. The
test starts the real hack/dev.py (tests/dev/devrun.py), sends SIGTERM to hack/dev.py alone
(the harder case: the services get no signal of their own), and checks that it exits promptly
and that none of the services is left running.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.dev import devrun
from tests.support import ports

STOP_TIMEOUT_S = 30.0


@pytest.fixture
def dev() -> Iterator[devrun.DevRun]:
    with devrun.dev_run() as run:
        yield run


@pytest.mark.slow
def test_sigterm_stops_every_service_and_exits_promptly(dev: devrun.DevRun) -> None:
    assert dev.pids.keys() >= {"postgres", "valkey-server", devrun.MODEL_SERVER}, dev.pids
    assert all(devrun.alive(pid) for pid in dev.pids.values()), dev.pids
    assert dev.process is not None

    sent = time.monotonic()
    dev.process.send_signal(signal.SIGTERM)
    try:
        status = dev.process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hack/dev.py still runs {STOP_TIMEOUT_S:.0f}s after SIGTERM")
    took = time.monotonic() - sent

    output = dev.output()
    assert status == 0, output
    left = {name: pid for name, pid in dev.pids.items() if devrun.alive(pid)}
    assert not left, f"still running after SIGTERM: {left}\n{output}"
    assert "==> stopping" in output
    assert not ports.port_is_open(dev.api_port)
    assert not ports.port_is_open(dev.inference_port)
    assert took < STOP_TIMEOUT_S
