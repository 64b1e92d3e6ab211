"""The alerts a platform team pages on (charts/journal-operator/files/alerts.yaml).

Aspects:
- ``promtool check rules`` accepts the file, and refuses it once an expression is broken;
- ``promtool test rules`` (tests/monitoring/alerts_test.yaml) fires every alert on synthetic
  series with the labels, summary, description and runbook link expected, and keeps it silent
  on healthy series or before its ``for:``; a rule whose threshold is changed fails it;
- every alert the issue names is there, with a summary, a description and a runbook link to
  a section of docs/runbook.md that exists; each has its own unit test.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.monitoring import conftest
from tests.support.prometheus import promtool

pytestmark = pytest.mark.usefixtures("prometheus_dir")

EXPECTED = {
    "JournalPlatformNotReady",
    "JournalPlatformMigrationsFailed",
    "JournalPlatformRolloutStalled",
    "JournalAPIHighErrorRate",
    "JournalAPIHighLatency",
    "JournalAnalysisBacklogGrowing",
    "JournalModelServerDown",
    "JournalModelServerSlow",
    "JournalOperatorReconcileErrors",
    "JournalOperatorAbsent",
}
RUNBOOK_URL = "https://github.com/journal-platform/journal-platform/blob/main/docs/runbook.md#"


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_promtool_check_rules_accepts_the_alerts() -> None:
    result = promtool("check", "rules", str(conftest.ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(conftest.alert_rules())} rules found" in result.stdout


def test_promtool_check_rules_refuses_a_broken_expression(tmp_path: Path) -> None:
    broken = tmp_path / "alerts.yaml"
    text = conftest.ALERTS.read_text("utf-8")
    broken.write_text(text.replace("[5m]))", "[5m))", 1), encoding="utf-8")
    result = promtool("check", "rules", str(broken))
    assert result.returncode != 0
    assert "parse error" in (result.stdout + result.stderr)


def test_promtool_unit_tests_fire_every_alert() -> None:
    result = promtool("test", "rules", str(conftest.ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_unit_tests_fail_when_a_threshold_moves(tmp_path: Path) -> None:
    # The unit tests pin the thresholds: 5% 5xx becomes 50%, and the firing case fails.
    folder = tmp_path / "charts" / "journal-operator" / "files"
    folder.mkdir(parents=True)
    text = conftest.ALERTS.read_text("utf-8")
    assert text.count("> 0.05") == 1
    (folder / "alerts.yaml").write_text(text.replace("> 0.05", "> 0.5"), encoding="utf-8")
    tests_dir = tmp_path / "tests" / "monitoring"
    tests_dir.mkdir(parents=True)
    shutil.copy(conftest.ALERT_TESTS, tests_dir / "alerts_test.yaml")
    result = promtool("test", "rules", str(tests_dir / "alerts_test.yaml"))
    assert result.returncode != 0
    assert "JournalAPIHighErrorRate" in result.stdout + result.stderr


def test_every_named_alert_has_summary_description_and_runbook_section() -> None:
    rules = conftest.alert_rules()
    assert {rule["alert"] for rule in rules} == EXPECTED
    anchors = _anchors(conftest.RUNBOOK.read_text("utf-8"))
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations.get("summary"), rule["alert"]
        assert annotations.get("description"), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        url = annotations["runbook_url"]
        assert url.startswith(RUNBOOK_URL), url
        assert url.removeprefix(RUNBOOK_URL) in anchors, f"docs/runbook.md has no {url}"


def test_every_alert_has_a_firing_unit_test() -> None:
    tests = yaml.safe_load(conftest.ALERT_TESTS.read_text("utf-8"))["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == EXPECTED
