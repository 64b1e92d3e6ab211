"""Real API processes for the tests that need them (replicas, outages, logs).

`ApiProcess` runs `python -m journal_api serve` in a subprocess configured only through
`JOURNAL_API_*` environment variables, exactly as a deployment would, on a free port,
with stdout (the JSON log) captured to a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.journal_api import conftest
from tests.support import ports


class ApiProcess:
    """One uvicorn process serving the API.

    Args:
        log_dir: where its log file goes.
        database_url: JOURNAL_API_DATABASE_URL.
        redis_url: JOURNAL_API_REDIS_URL.
        env: further JOURNAL_API_* variables (names without the prefix).
    """

    def __init__(
        self, log_dir: Path, *, database_url: str, redis_url: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = ports.free_port()
        self.log_file = log_dir / f"api-{self.port}.log"
        self.env = {
            **{
                key: value
                for key, value in os.environ.items()
                if not key.startswith("JOURNAL_API_")
            },
            "JOURNAL_API_ENVIRONMENT": "development",
            "JOURNAL_API_DATABASE_URL": database_url,
            "JOURNAL_API_REDIS_URL": redis_url,
            "JOURNAL_API_JWT_KEY": conftest.TEST_JWT_KEY,
            "JOURNAL_API_JWT_KID": conftest.TEST_JWT_KID,
            "JOURNAL_API_PORT": str(self.port),
            "JOURNAL_API_DB_POOL_SIZE": "3",
            "JOURNAL_API_CACHE_RETRY_SECONDS": "0.2",
            "JOURNAL_API_PASSWORD_HASH_TIME_COST": "1",
            "JOURNAL_API_PASSWORD_HASH_MEMORY_KIB": "1024",
            # Tests register and log in many users from one address.
            "JOURNAL_API_RATE_LIMIT_AUTH_PER_IP": "1000000",
            "JOURNAL_API_RATE_LIMIT_AUTH_PER_ACCOUNT": "1000000",
            **{f"JOURNAL_API_{key.upper()}": value for key, value in (env or {}).items()},
        }
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "journal_api", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            ports.wait_for_port(self.port, timeout=60)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"API did not start:\n{self.log()}") from None

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
