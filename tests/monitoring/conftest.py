"""Fixtures for the monitoring tests: promtool (built once, cached) and the shipped files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import skips
from tests.support import prometheus

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "charts" / "journal-operator" / "files"
ALERTS = FILES / "alerts.yaml"
DASHBOARD = FILES / "dashboard.json"
ALERT_TESTS = Path(__file__).resolve().parent / "alerts_test.yaml"
RUNBOOK = ROOT / "docs" / "runbook.md"


@pytest.fixture(scope="session")
def prometheus_dir() -> Path:
    try:
        return prometheus.prometheus_dir()
    except prometheus.PrometheusToolsUnavailableError as exc:
        pytest.skip(f"{skips.PROMTOOL_UNAVAILABLE}: {exc}")


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text("utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    return loaded


def panel_queries() -> list[tuple[str, str]]:
    """(panel title, query) for every query of every panel, rows' nested panels included."""
    found: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                found.append((panel["title"], target["expr"]))

    walk(dashboard()["panels"])
    return found
