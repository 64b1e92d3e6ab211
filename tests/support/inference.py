"""A real model server process: `python -m journal_inference serve` on loopback ports.

Used by the inference tests, `make dev` and the benchmarks. It runs the committed artifact
unless told otherwise, and waits until `/v2/health/ready` answers 200 (loaded and warmed up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support import ports


class InferenceServer:
    """One model server process.

    Args:
        log_path: where its JSON log lines go.
        env: extra `JOURNAL_INFERENCE_*` settings (batching, limits, artifact dir, task).
        http_port / grpc_port: ports on 127.0.0.1; free ones when None.
    """

    def __init__(
        self,
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        http_port: int | None = None,
        grpc_port: int | None = None,
    ) -> None:
        self.log_path = log_path
        self.env = env or {}
        self.http_port = http_port or ports.free_port()
        self.grpc_port = grpc_port or ports.free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to be ready."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "JOURNAL_INFERENCE_HOST": "127.0.0.1",
            "JOURNAL_INFERENCE_HTTP_PORT": str(self.http_port),
            "JOURNAL_INFERENCE_GRPC_PORT": str(self.grpc_port),
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "journal_inference", "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    def start(self, *, timeout: float = 180.0) -> None:
        """Start and wait until ready.

        Raises:
            RuntimeError: the process exited first (its log's tail is in the message).
            TimeoutError: not ready within `timeout` seconds.
        """
        self.spawn()
        self.wait_ready(timeout=timeout)

    def ready(self) -> bool:
        try:
            # A fixed http:// URL on loopback, built here.
            with urllib.request.urlopen(f"{self.url}/v2/health/ready", timeout=2) as r:  # noqa: S310
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, *, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"model server exited with {self.process.returncode}:\n{tail}")
            if self.ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"model server not ready after {timeout:.0f}s; log: {self.log_path}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
