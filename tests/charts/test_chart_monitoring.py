"""The operator chart's optional monitoring: ServiceMonitors, PodMonitor, PrometheusRule, dashboard.

Aspects:
- all of it is off by default (it needs the Prometheus Operator's CRDs, or a Grafana);
- the PrometheusRule's spec is files/alerts.yaml verbatim (the file promtool checks and tests),
  Prometheus' own annotation templates untouched by Helm;
- the monitors select what the operator really builds: the API and model-server Services and the
  worker pods of a platform (from ``plan.desired_children``) carry the selected labels and the
  named ports, and the monitors look in the watched namespaces;
- the operator's ServiceMonitor honours the platform ``namespace`` label its metrics carry;
- the dashboard ConfigMap carries Grafana's sidecar label and files/dashboard.json.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from journal_operator.builders import plan

from tests.charts import chart
from tests.journal_operator import factories

FILES = chart.CHART / "files"
ALL_ON = {
    "monitoring": {
        "serviceMonitors": {"enabled": True, "labels": {"release": "prom"}},
        "prometheusRule": {"enabled": True},
        "dashboard": {"enabled": True},
    }
}
MONITOR_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


def _monitors(manifests: list[chart.Manifest]) -> dict[str, chart.Manifest]:
    return {
        m["metadata"]["name"].rsplit("-", 1)[-1]: m
        for m in manifests
        if m["kind"] in {"ServiceMonitor", "PodMonitor"}
    }


def test_off_by_default(render_values: chart.RenderValues) -> None:
    kinds = {m["kind"] for m in render_values({})}
    assert not kinds & MONITOR_KINDS
    assert "ConfigMap" not in kinds


def test_prometheus_rule_is_the_alerts_file(render_values: chart.RenderValues) -> None:
    (rule,) = chart.of_kind(render_values(ALL_ON), "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((FILES / "alerts.yaml").read_text("utf-8"))
    summary = rule["spec"]["groups"][0]["rules"][0]["annotations"]["summary"]
    assert "{{ $labels.namespace }}" in summary


def _built(fields: dict[str, Any]) -> list[dict[str, Any]]:
    groups = plan.desired_children(
        factories.platform(fields),
        secrets=factories.SECRETS,
        version="1.0.0",
        migrate=False,
        inference_mode="deployment",
    )
    return plan.flatten(groups)


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_monitors_select_what_the_operator_builds(render_values: chart.RenderValues) -> None:
    monitors = _monitors(render_values(ALL_ON))
    assert set(monitors) == {"api", "models", "worker"}
    children = _built({"inference": {"mode": "deployment"}})
    services = [c for c in children if c["kind"] == "Service"]
    deployments = [c for c in children if c["kind"] == "Deployment"]
    for key, kind in (("api", "ServiceMonitor"), ("models", "ServiceMonitor")):
        monitor = monitors[key]
        assert monitor["kind"] == kind
        assert monitor["metadata"]["labels"]["release"] == "prom"
        selector = monitor["spec"]["selector"]["matchLabels"]
        (endpoint,) = monitor["spec"]["endpoints"]
        selected = [s for s in services if _matches(selector, s["metadata"]["labels"])]
        assert selected, f"the {key} ServiceMonitor selects no Service the operator builds"
        for service in selected:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"
    worker = monitors["worker"]
    assert worker["kind"] == "PodMonitor"
    selector = worker["spec"]["selector"]["matchLabels"]
    (endpoint,) = worker["spec"]["podMetricsEndpoints"]
    pods = [
        d["spec"]["template"] for d in deployments
        if _matches(selector, d["spec"]["template"]["metadata"]["labels"])
    ]  # fmt: skip
    assert len(pods) == 1, "the worker PodMonitor must select the worker pods only"
    ports = {p["name"] for c in pods[0]["spec"]["containers"] for p in c.get("ports", [])}
    assert endpoint["port"] in ports
    # The default is namespaced: the release's own namespace.
    assert all(
        m["spec"]["namespaceSelector"] == {"matchNames": [chart.NAMESPACE]}
        for m in monitors.values()
    )
    cluster_wide = _monitors(render_values({**ALL_ON, "clusterWide": True}))
    assert all(m["spec"]["namespaceSelector"] == {"any": True} for m in cluster_wide.values())


def test_monitors_follow_watched_namespaces(render_values: chart.RenderValues) -> None:
    values = {**ALL_ON, "watchNamespaces": ["team-a", "team-b"]}
    for monitor in _monitors(render_values(values)).values():
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["team-a", "team-b"]}


def test_operator_service_monitor_honours_platform_labels(
    render_values: chart.RenderValues,
) -> None:
    values = {"metrics": {"serviceMonitor": {"enabled": True}}}
    (monitor,) = chart.of_kind(render_values(values), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True


def test_dashboard_config_map(render_values: chart.RenderValues) -> None:
    (config_map,) = chart.of_kind(render_values(ALL_ON), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == chart.NAMESPACE
    (content,) = config_map["data"].values()
    assert json.loads(content) == json.loads((FILES / "dashboard.json").read_text("utf-8"))
    other = render_values({"monitoring": {"dashboard": {"enabled": True, "namespace": "grafana"}}})
    assert chart.of_kind(other, "ConfigMap")[0]["metadata"]["namespace"] == "grafana"
