"""The Grafana dashboard (charts/journal-operator/files/dashboard.json).

Aspects: the JSON is valid and shaped as Grafana loads it (unique panel ids, a uid, the
Prometheus datasource variable); it covers the API, the worker, the model servers and the
operator; every panel query parses as PromQL, checked by promtool (each query, its Grafana
variables filled in, becomes a recording rule of a rules file that ``promtool check rules``
parses), and a query that does not parse is caught.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.monitoring import conftest, promql
from tests.support.prometheus import promtool


def _rules_file(queries: list[tuple[str, str]], path: Path) -> Path:
    rules = [
        {"record": f"dashboard:panel_{i}", "expr": promql.substitute(expr)}
        for i, (_, expr) in enumerate(queries)
    ]
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), "utf-8")
    return path


def test_dashboard_json_is_a_grafana_dashboard() -> None:
    dash = conftest.dashboard()
    assert dash["uid"] == "journal-platform"
    assert dash["title"]
    ids = [panel["id"] for panel in dash["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    rows = {panel["title"] for panel in dash["panels"] if panel["type"] == "row"}
    assert rows == {"API", "Worker", "Model servers", "Operator"}
    for panel in dash["panels"]:
        if panel["type"] != "row":
            assert panel["targets"], f"panel {panel['title']!r} has no query"
            assert panel["datasource"]["uid"] == "${datasource}"


@pytest.mark.usefixtures("prometheus_dir")
def test_every_panel_query_parses(tmp_path: Path) -> None:
    queries = conftest.panel_queries()
    assert len(queries) >= 20
    rules = _rules_file(queries, tmp_path / "panels.yaml")
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


@pytest.mark.usefixtures("prometheus_dir")
def test_a_query_that_does_not_parse_is_caught(tmp_path: Path) -> None:
    queries = [*conftest.panel_queries(), ("broken", "sum(rate(journal_api_requests_total[5m])")]
    rules = _rules_file(queries, tmp_path / "panels.yaml")
    result = promtool("check", "rules", str(rules))
    assert result.returncode != 0
