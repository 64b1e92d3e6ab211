"""`helm lint --strict` per ci/ scenario, and what values.schema.json refuses.

Aspects: every scenario lints cleanly against the newest and the oldest supported Kubernetes;
the chart refuses clusters older than 1.29 (CEL); the schema refuses a second replica,
misspelt keys and namespace names Kubernetes would refuse.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.charts import chart
from tests.support import helm as helm_support

BAD_VALUES = {
    "second-replica": ({"replicaCount": 2}, "replicaCount"),
    "misspelt-key": ({"watchNamespace": ["a"]}, "watchNamespace"),
    "invalid-namespace": ({"watchNamespaces": ["Team_A"]}, "watchNamespaces"),
    "unknown-log-level": ({"logLevel": "TRACE"}, "logLevel"),
    "port-out-of-range": ({"metrics": {"port": 70000}}, "metrics.port"),
}


@pytest.mark.parametrize("kube_version", [chart.KUBE_VERSION, chart.MIN_KUBE_VERSION])
@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_scenario_lints_strictly(helm: helm_support.Helm, scenario: str, kube_version: str) -> None:
    result = helm.run(
        "lint",
        "--strict",
        str(chart.CHART),
        "--values",
        str(chart.CI_VALUES[scenario]),
        "--kube-version",
        kube_version,
        "--namespace",
        chart.NAMESPACE,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_ci_scenarios_cover_the_three_install_modes() -> None:
    assert set(chart.CI_VALUES) >= {chart.CLUSTER_WIDE, chart.SINGLE_NAMESPACE, chart.NO_CRDS}


def test_kubernetes_older_than_cel_ga_is_refused(helm: helm_support.Helm) -> None:
    result = helm.run("template", "x", str(chart.CHART), "--kube-version", "1.28.9", check=False)
    assert result.returncode != 0
    assert "kubeVersion" in result.stderr


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_refuses_bad_values(helm: helm_support.Helm, tmp_path: Path, case: str) -> None:
    values, field = BAD_VALUES[case]
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    result = helm.run("template", "x", str(chart.CHART), "--values", str(values_file), check=False)
    assert result.returncode != 0
    assert field.split(".")[-1] in result.stderr, result.stderr
