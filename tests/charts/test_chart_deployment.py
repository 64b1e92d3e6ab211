"""The operator Deployment: one replica, Recreate, hardened, probed, configured from values.

Aspects: replicas and strategy (Kopf has no leader election); the restricted-profile security
context; the liveness probe hits Kopf's `/healthz` on the port the operator is told to serve;
every JOURNAL_OPERATOR_* variable is a real OperatorSettings field; watched namespaces reach
the operator in a format its settings parse; metrics on/off; RBAC changes roll the Pod.
"""

from __future__ import annotations

import pytest
import yaml

from tests.charts import chart

ENV_PREFIX = "JOURNAL_OPERATOR_"
# What the operator must listen on inside a Pod (the kubelet and Prometheus use the Pod IP).
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (compared with, never bound here)


def _deployment(manifests: list[chart.Manifest]) -> chart.Manifest:
    return chart.only(manifests, "Deployment")


def _container(manifests: list[chart.Manifest]) -> chart.Manifest:
    container: chart.Manifest = _deployment(manifests)["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_operator_runs_one_replica_recreated_on_upgrade(
    rendered: dict[str, list[chart.Manifest]], scenario: str
) -> None:
    spec = _deployment(rendered[scenario])["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_operator_pod_is_hardened(rendered: dict[str, list[chart.Manifest]], scenario: str) -> None:
    pod = _deployment(rendered[scenario])["spec"]["template"]["spec"]
    container = _container(rendered[scenario])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "memory" in container["resources"]["limits"]


def test_operator_runs_the_package_entry_point(rendered: dict[str, list[chart.Manifest]]) -> None:
    container = _container(rendered[chart.CLUSTER_WIDE])
    assert container["command"] == ["python", "-m", "journal_operator"]
    assert container["image"].endswith(":" + _chart_app_version())


def test_liveness_probe_hits_the_port_the_operator_serves(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    container = _container(rendered[chart.CLUSTER_WIDE])
    env = chart.container_env(_deployment(rendered[chart.CLUSTER_WIDE]))
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"
    assert ports[probe["port"]] == int(env["JOURNAL_OPERATOR_LIVENESS_PORT"])
    # The kubelet probes the Pod IP; Kopf's default 127.0.0.1 would fail every probe.
    assert env["JOURNAL_OPERATOR_LIVENESS_HOST"] == ALL_INTERFACES


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_every_operator_variable_is_a_settings_field(
    rendered: dict[str, list[chart.Manifest]], scenario: str
) -> None:
    settings = pytest.importorskip("journal_operator.settings")
    fields = {ENV_PREFIX + name.upper() for name in settings.OperatorSettings.model_fields}
    env = chart.container_env(_deployment(rendered[scenario]))
    unknown = {name for name in env if name.startswith(ENV_PREFIX)} - fields
    assert not unknown, f"not OperatorSettings fields: {sorted(unknown)}"


def test_single_namespace_operator_is_told_its_namespaces(
    rendered: dict[str, list[chart.Manifest]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pytest.importorskip("journal_operator.settings")
    watched = chart.ci_values(chart.SINGLE_NAMESPACE)["watchNamespaces"]
    env = chart.container_env(_deployment(rendered[chart.SINGLE_NAMESPACE]))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parsed = settings.OperatorSettings()
    assert parsed.namespaces == watched
    assert parsed.clusterwide is False
    assert parsed.log_level == chart.ci_values(chart.SINGLE_NAMESPACE)["logLevel"]
    assert parsed.reconcile_concurrency == 5


def test_cluster_wide_operator_watches_every_namespace(
    rendered: dict[str, list[chart.Manifest]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pytest.importorskip("journal_operator.settings")
    env = chart.container_env(_deployment(rendered[chart.CLUSTER_WIDE]))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert settings.OperatorSettings().clusterwide is True


def test_metrics_are_served_and_exposed_by_default(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    manifests = rendered[chart.CLUSTER_WIDE]
    env = chart.container_env(_deployment(manifests))
    service = chart.only(manifests, "Service")
    ports = {port["name"]: port["containerPort"] for port in _container(manifests)["ports"]}
    assert int(env["JOURNAL_OPERATOR_METRICS_PORT"]) == ports["metrics"]
    assert env["JOURNAL_OPERATOR_METRICS_HOST"] == ALL_INTERFACES
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert service["spec"]["selector"].items() <= (
        _deployment(manifests)["spec"]["template"]["metadata"]["labels"].items()
    )
    monitor = chart.only(manifests, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


def test_metrics_off_turns_the_endpoint_and_service_off(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    manifests = rendered[chart.NO_CRDS]
    env = chart.container_env(_deployment(manifests))
    assert env["JOURNAL_OPERATOR_METRICS_PORT"] == "0"
    assert not chart.of_kind(manifests, "Service")
    assert not chart.of_kind(manifests, "ServiceMonitor")


def test_rbac_change_rolls_the_operator_pod(render_values: chart.RenderValues) -> None:
    def checksum(values: dict[str, object]) -> str:
        template = _deployment(render_values(values))["spec"]["template"]
        value: str = template["metadata"]["annotations"]["checksum/rbac"]
        return value

    assert checksum({}) == checksum({"logLevel": "DEBUG"})
    assert checksum({}) != checksum({"watchNamespaces": ["team-a"]})


def test_every_object_carries_the_standard_labels(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    for scenario, manifests in rendered.items():
        for manifest in manifests:
            labels = manifest["metadata"].get("labels", {})
            for key in ("name", "instance", "component", "part-of", "managed-by"):
                assert f"app.kubernetes.io/{key}" in labels, (scenario, manifest["kind"], key)


def _chart_app_version() -> str:
    meta = yaml.safe_load((chart.CHART / "Chart.yaml").read_text(encoding="utf-8"))
    version: str = meta["appVersion"]
    return version
