"""`make probe` (hack/probe.py) against a real API process, as a user runs it on `make dev`:
the API on real PostgreSQL and Redis with the real model server behind it (without one,
semantic search and suggestions answer 503 by design, which the probe counts as a 5xx).

- On an API configured as shipped (no trusted proxies) the whole probe, schemathesis
  included, finds nothing and exits 0.
- It has teeth: against an API told to trust forwarding headers from everywhere (the
  misconfiguration the bypass check is for), it reports the bypass and exits 1.

The limits are made small (a 2 s window, 20 logins per address, lockout after 3 failures)
so the probe's waits take seconds; the probe is told the same numbers, as its options say.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from journal_api import settings as settings_module

from tests.journal_api.processes import ApiProcess
from tests.support.redis import RedisServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LIMITS = {
    "rate_limit_window_seconds": "2",
    "rate_limit_auth_per_ip": "20",
    "rate_limit_auth_per_account": "10",
    "login_max_failures": "3",
}


def _probe(
    settings: settings_module.Settings,
    redis_server: RedisServer,
    services_dir: Path,
    db: int,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    # A Redis database of its own: the limiter's per-address counters start empty.
    redis_url = redis_server.url.rsplit("/", 1)[0] + f"/{db}"
    assert settings.inference_url
    process = ApiProcess(
        services_dir,
        database_url=settings.database_url,
        redis_url=redis_url,
        env={**LIMITS, "inference_url": settings.inference_url, **env},
    )
    process.start()
    try:
        return subprocess.run(
            [sys.executable, str(ROOT / "hack" / "probe.py"), "--url", process.url,
             "--examples", "1", "--rate", "6000/m", "--window", "3",
             "--max-failures", LIMITS["login_max_failures"],
             "--auth-limit", LIMITS["rate_limit_auth_per_ip"]],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    finally:
        process.stop()


def test_the_probe_finds_nothing_on_the_api_as_shipped(
    analysis_settings: settings_module.Settings, redis_server: RedisServer, services_dir: Path
) -> None:
    result = _probe(analysis_settings, redis_server, services_dir, db=11)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[probe] nothing found" in output
    assert "spoofed addresses were limited" in output


def test_the_probe_reports_a_limit_bypass(
    analysis_settings: settings_module.Settings, redis_server: RedisServer, services_dir: Path
) -> None:
    result = _probe(
        analysis_settings, redis_server, services_dir, db=12, trusted_proxies="0.0.0.0/0"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "FOUND: 21 logins with spoofed X-Forwarded-For were never limited" in output
