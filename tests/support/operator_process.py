"""The operator as it runs in a cluster: ``python -m journal_operator`` in a subprocess.

Used by the reconcile tests and the operator benchmark. A real process (not KopfRunner in
a thread) lets a test kill it mid-reconcile and start it again, and measures what a
deployment would use (RSS, CPU from /proc).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.ports import free_port


class OperatorProcess:
    """One operator subprocess pointed at ``kubeconfig``; restartable.

    Args:
        kubeconfig: the cluster to reconcile.
        log_path: where stdout and stderr go (appended across restarts).
        env: extra ``JOURNAL_OPERATOR_*`` settings.
    """

    def __init__(
        self, kubeconfig: Path, log_path: Path, *, env: dict[str, str] | None = None
    ) -> None:
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.liveness_port = free_port()
        self.metrics_port = free_port()
        self._env = env or {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "operator not started"
        return self._process.pid

    def start(self, *, timeout: float = 60) -> None:
        """Start the process and wait until its liveness endpoint answers."""
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "JOURNAL_OPERATOR_LIVENESS_PORT": str(self.liveness_port),
            "JOURNAL_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "JOURNAL_OPERATOR_LOG_FORMAT": "full",
            "JOURNAL_OPERATOR_RESYNC_SECONDS": "10",
            **self._env,
        }
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "journal_operator"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"operator exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            if self._answers(f"http://127.0.0.1:{self.liveness_port}/healthz"):
                return
            time.sleep(0.2)
        raise TimeoutError(f"operator not live after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, *, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no cleanup handlers, as when a node dies."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def metrics(self) -> str:
        """The Prometheus text exposition from ``/metrics``."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            series, _, value = line.rpartition(" ")
            if series.split("{")[0] != name:
                continue
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - local
                return bool(response.status == 200)
        except OSError:
            return False
