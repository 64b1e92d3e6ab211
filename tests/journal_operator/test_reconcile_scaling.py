"""Scaling a platform the Kubernetes way: the scale subresource and an HPA that targets it.

Aspects under test:
- ``kubectl scale jp/NAME --replicas=N`` changes the API Deployment's replicas, and the scale
  subresource reports the new count back;
- an autoscaling/v2 HPA whose scaleTargetRef is the JournalPlatform can read its scale
  (the HPA controller reports AbleToScale=True; there is no metrics server, so it need not act);
- turning on spec.api.autoscaling never drops the API below its replicas: the operator's HPA
  comes first, and the Deployment's replicas are handed over to it, not removed.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, condition_is, wait_until
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_kubectl_scale_changes_api_replicas(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("scaled", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "scaled")

    k8s_cluster.kubectl("scale", "journalplatform/scaled", "-n", k8s_namespace, "--replicas=3")

    k8s_cluster.wait_for(
        "deployment",
        "scaled-api",
        lambda d: d["spec"]["replicas"] == 3 and d["status"].get("availableReplicas") == 3,
        namespace=k8s_namespace,
        timeout=120,
    )
    jp = platforms.wait_ready(k8s_cluster, k8s_namespace, "scaled")
    assert jp["spec"]["api"]["replicas"] == 3

    def scale_reports_three() -> bool:
        raw = k8s_cluster.kubectl(
            "get",
            "journalplatform",
            "scaled",
            "-n",
            k8s_namespace,
            "--subresource=scale",
            "-o",
            "json",
        ).stdout
        scale = json.loads(raw)
        return bool(scale["status"].get("replicas") == 3 and scale["status"].get("selector"))

    wait_until(scale_reports_three, timeout=60, description="scale subresource reports 3")


def test_hpa_targeting_the_platform_is_able_to_scale(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("autoscaled", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "autoscaled")
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "platform-hpa", "namespace": k8s_namespace},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": platforms.API_VERSION,
                "kind": platforms.KIND,
                "name": "autoscaled",
            },
            "minReplicas": 1,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }
    k8s_cluster.apply(hpa)
    found = k8s_cluster.wait_for(
        "hpa",
        "platform-hpa",
        lambda h: condition_is(h, "AbleToScale"),
        namespace=k8s_namespace,
        timeout=180,
        description="HPA AbleToScale=True",
    )
    assert found["status"].get("currentReplicas") == 1


def test_enabling_autoscaling_keeps_the_api_replicas(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("hpa-on", k8s_namespace, api={"replicas": 3}))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "hpa-on")

    platforms.patch_spec(
        k8s_cluster,
        k8s_namespace,
        "hpa-on",
        {"api": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}}},
    )

    # Without metrics the HPA keeps any count in [2, 5]: the Deployment must stay at 3 through
    # the handover (a dropped field would reset it to 1 until the HPA raised it to 2).
    lowest = 3
    handed_over_at: float | None = None
    deadline = time.monotonic() + 120
    while handed_over_at is None or time.monotonic() < handed_over_at + 20:
        api = k8s_cluster.get("deployment", "hpa-on-api", namespace=k8s_namespace)
        lowest = min(lowest, int(api["spec"].get("replicas") or 0))
        owner = (api["metadata"].get("annotations") or {}).get("journalplatform.io/replicas-owner")
        if owner == "hpa" and handed_over_at is None:
            handed_over_at = time.monotonic()
        assert time.monotonic() < deadline, "the API's replicas were never handed to the HPA"
        time.sleep(0.2)
    assert lowest == 3, f"the API dropped to {lowest} replicas when autoscaling was enabled"
    raw = k8s_cluster.kubectl(
        "get",
        "deployment",
        "hpa-on-api",
        "-n",
        k8s_namespace,
        "--show-managed-fields",
        "-o",
        "json",
    ).stdout
    managers = {
        m["manager"]
        for m in json.loads(raw)["metadata"]["managedFields"]
        if "f:replicas" in json.dumps((m.get("fieldsV1") or {}).get("f:spec", {}))
    }
    assert "journal-operator" not in managers, managers
    hpa = k8s_cluster.get("horizontalpodautoscaler", "hpa-on-api", namespace=k8s_namespace)
    assert hpa["spec"]["minReplicas"] == 2
