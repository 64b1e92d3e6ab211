"""One failure does not block the rest, and every failure is visible in status.

Aspects under test (real API server, controllers and scheduler; KWOK nodes):
- an Ingress refused by a ResourceQuota (admission in the real API server) does not stop
  the pass: the API, worker and model servers are still created, and the platform is
  Degraded with the child and the server's message;
- an API image that crashes shows CrashLoopBackOff with the pod and the container, while
  the old pods keep serving.
"""

from __future__ import annotations

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, condition
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REGISTRY = "ghcr.io/journal-platform"
TIMEOUT = 240.0


def test_a_refused_child_is_reported_and_the_others_are_applied(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "no-ingress", "namespace": k8s_namespace},
            "spec": {"hard": {"count/ingresses.networking.k8s.io": "0"}},
        }
    )
    k8s_cluster.wait_for(
        "resourcequota",
        "no-ingress",
        lambda q: "count/ingresses.networking.k8s.io" in (q.get("status") or {}).get("hard", {}),
        namespace=k8s_namespace,
        timeout=60,
        description="the quota controller computed the quota",
    )
    k8s_cluster.apply(
        platforms.platform(
            "quota",
            k8s_namespace,
            api={"ingress": {"enabled": True, "host": "journal.example.com"}},
            inference={"models": [{"name": "analyzer", "task": "all"}]},
        )
    )

    jp = k8s_cluster.wait_for(
        "journalplatform",
        "quota",
        lambda o: (
            (condition(o, "Degraded") or {}).get("reason") == "ApplyFailed"
            and (condition(o, "ApiReady") or {}).get("status") == "True"
        ),
        namespace=k8s_namespace,
        timeout=TIMEOUT,
        description="Degraded=ApplyFailed with the API up",
    )
    message = (condition(jp, "Degraded") or {})["message"]
    assert "Ingress quota-api" in message
    assert "exceeded quota" in message
    assert jp["status"]["phase"] == "Degraded"
    # The flip was announced as a Warning Event on the platform, not only written to status.
    events = k8s_cluster.items("event", namespace=k8s_namespace)
    assert any(
        e.get("reason") == "ApplyFailed"
        and e.get("type") == "Warning"
        and (e.get("involvedObject") or {}).get("name") == "quota"
        for e in events
    ), [(e.get("reason"), e.get("type")) for e in events]
    # Children after the refused one in the plan (the model server) exist too.
    assert k8s_cluster.get_or_none(
        "deployment", "quota-analyzer-predictor", namespace=k8s_namespace
    )
    assert k8s_cluster.items("networkpolicy", namespace=k8s_namespace)
    assert k8s_cluster.get_or_none("ingress", "quota-api", namespace=k8s_namespace) is None


def test_a_crashing_api_image_names_the_pod_and_container(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("crashy", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "crashy")

    platforms.patch_spec(
        k8s_cluster,
        k8s_namespace,
        "crashy",
        {
            "images": {
                "api": f"{REGISTRY}/journal-api:1.0.0-fail",
                "migrations": f"{REGISTRY}/journal-api:1.0.0",
            }
        },
    )

    jp = k8s_cluster.wait_for(
        "journalplatform",
        "crashy",
        lambda o: (condition(o, "Degraded") or {}).get("reason") == "CrashLoopBackOff",
        namespace=k8s_namespace,
        timeout=TIMEOUT,
        description="Degraded=CrashLoopBackOff",
    )
    message = (condition(jp, "Degraded") or {})["message"]
    assert "pod crashy-api-" in message
    assert "container api" in message
    api = k8s_cluster.get("deployment", "crashy-api", namespace=k8s_namespace)
    assert (api["status"].get("availableReplicas") or 0) >= 1, "old pods must keep serving"
