"""promtool and the Prometheus Operator's CRDs, built or fetched by hack/promtool/build.sh.

``prometheus_dir()`` returns the cache folder holding ``bin/promtool`` and ``crds/``: a warm
call returns at once, a cold one builds promtool from the Prometheus Go module (minutes).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "hack" / "promtool" / "build.sh"


class PrometheusToolsUnavailableError(RuntimeError):
    """No Go toolchain to build promtool with (build.sh exit 3); the message says why."""


def prometheus_dir(*, timeout: float = 3600) -> Path:
    """Build (or find) promtool and the CRDs; return the folder holding ``bin/`` and ``crds/``.

    Raises:
        PrometheusToolsUnavailableError: promtool cannot be built here (no Go toolchain).
        RuntimeError: the build or the download failed.
    """
    result = subprocess.run(
        ["bash", str(BUILD)], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode == 3:
        raise PrometheusToolsUnavailableError(result.stderr.strip().splitlines()[-1])
    if result.returncode != 0:
        raise RuntimeError(f"hack/promtool/build.sh failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def promtool(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the cached promtool (``prometheus_dir()`` must have been called)."""
    binary = prometheus_dir() / "bin" / "promtool"
    return subprocess.run(
        [str(binary), *args],
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd, input=stdin,
    )  # fmt: skip
