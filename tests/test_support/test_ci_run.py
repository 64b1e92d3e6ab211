""".ci/run fails on an undocumented skip even when every test passed, and keeps pytest's status.

`make` is replaced by a stand-in on PATH that records its arguments and, for `make test`,
prints a canned pytest summary; everything else in .ci/run (the -rs flag, the log, the
hack/check_skips.py call and the exit status) runs for real.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests import skips

ROOT = Path(__file__).resolve().parents[2]
FAKE_MAKE = """\
#!/usr/bin/env bash
echo "$*" >> "$FAKE_MAKE_CALLS"
if [ "$1" = test ]; then cat "$FAKE_PYTEST_OUTPUT"; exit "$FAKE_PYTEST_STATUS"; fi
"""
SUMMARY = "=========================== short test summary info ============================"
DOCUMENTED = f"""\
{SUMMARY}
SKIPPED [2] tests/charts/conftest.py:23: {skips.HELM_UNAVAILABLE}: none here
==================== 10 passed, 2 skipped in 1.00s ====================
"""
UNDOCUMENTED = f"""\
{SUMMARY}
SKIPPED [2] tests/charts/conftest.py:23: {skips.HELM_UNAVAILABLE}: none here
SKIPPED [1] tests/journal_api/test_x.py:9: Redis is flaky today
==================== 10 passed, 3 skipped in 1.00s ====================
"""


def _ci_run(tmp_path: Path, pytest_output: str, pytest_status: int = 0) -> tuple[int, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").write_text(FAKE_MAKE)
    (bin_dir / "make").chmod(0o755)
    (tmp_path / "pytest-output.txt").write_text(pytest_output)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_MAKE_CALLS": str(tmp_path / "make-calls.txt"),
        "FAKE_PYTEST_OUTPUT": str(tmp_path / "pytest-output.txt"),
        "FAKE_PYTEST_STATUS": str(pytest_status),
        "JOURNAL_CI_LOG_DIR": str(tmp_path / "ci"),
    }
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def test_documented_skips_pass_and_pytest_lists_skips(tmp_path: Path) -> None:
    status, output = _ci_run(tmp_path, DOCUMENTED)
    assert status == 0, output
    calls = (tmp_path / "make-calls.txt").read_text().splitlines()
    assert calls == [
        "lint",
        "control-plane",
        "promtool",
        "test PYTEST_ARGS=-p no:cacheprovider -rs",
    ]
    assert (tmp_path / "ci" / "pytest.log").read_text() == DOCUMENTED
    assert "skips: 2, all documented (HELM_UNAVAILABLE x2)" in output


def test_undocumented_skip_fails_ci_and_is_named(tmp_path: Path) -> None:
    status, output = _ci_run(tmp_path, UNDOCUMENTED)
    assert status == 1, output
    assert "tests/journal_api/test_x.py:9 (1x): Redis is flaky today" in output


def test_failing_tests_keep_their_status(tmp_path: Path) -> None:
    status, output = _ci_run(tmp_path, DOCUMENTED, pytest_status=2)
    assert status == 2, output
    assert "all documented" in output  # the skip check still ran
