"""The suite's per-test timeout covers the test body only, never the fixtures it waits for.

A cold build inside a session fixture (the control plane, Helm) lands on whichever test first
asks for it; pytest-timeout's ``timeout_func_only`` keeps that test from being killed for it.
The sample suite runs under our own pyproject.toml with the timeout shortened on the command
line, so the setting under test is the one the real suite uses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TESTS = """\
import time

import pytest


@pytest.fixture
def cold_build():
    time.sleep(1.5)


def test_after_cold_build(cold_build):
    pass


def test_slow_body():
    time.sleep(1.5)
"""


def test_suite_sets_timeout_func_only(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getini("timeout_func_only") is True


def test_slow_fixture_is_not_timed_out_but_slow_body_is(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(ROOT),
            "-p",
            "no:cacheprovider",
            "--timeout=0.5",
            "-v",
            str(tmp_path / "test_sample.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    # Node ids are relative to our rootdir, so only their ends are stable.
    assert "::test_after_cold_build PASSED" in output, output
    assert "::test_slow_body FAILED" in output, output
    assert "Timeout (>0.5s)" in output, output
