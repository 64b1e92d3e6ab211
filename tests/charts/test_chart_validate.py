"""Rendered manifests validate against Kubernetes' own OpenAPI schemas, offline.

`kubernetes-validate` bundles the schemas, strict mode refuses unknown fields. Every
scenario is checked for the newest Kubernetes we target and the oldest the chart allows.
Only kinds from optional third-party CRDs (the Prometheus Operator's ServiceMonitor) have
no bundled schema.
"""

from __future__ import annotations

import pytest

from tests.charts import chart
from tests.support import helm as helm_support

kubernetes_validate = pytest.importorskip("kubernetes_validate")

# Kinds whose schema is not Kubernetes' own, so kubernetes-validate has none.
# The Prometheus Operator's kinds: kubernetes-validate has no schema for them; the real
# API server validates them against the real CRDs in test_chart_lifecycle.py.
THIRD_PARTY_KINDS = {
    ("monitoring.coreos.com/v1", kind)
    for kind in ("ServiceMonitor", "PodMonitor", "PrometheusRule")
}


@pytest.mark.parametrize("kube_version", [chart.KUBE_VERSION, chart.MIN_KUBE_VERSION])
@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_rendered_manifests_validate_strictly(
    helm: helm_support.Helm, scenario: str, kube_version: str
) -> None:
    manifests = helm.template(
        chart.CHART,
        release=chart.RELEASE,
        namespace=chart.NAMESPACE,
        values_files=[chart.CI_VALUES[scenario]],
        kube_version=kube_version,
    )
    assert manifests
    failures: list[str] = []
    for manifest in manifests:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            kubernetes_validate.validate(manifest, kube_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            if (manifest["apiVersion"], manifest["kind"]) not in THIRD_PARTY_KINDS:
                failures.append(f"{where}: no schema for {manifest['apiVersion']}")
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            failures.append(f"{where}: {path}: {exc.message}")
    assert not failures, "\n".join(failures)
