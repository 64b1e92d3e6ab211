"""Drift repair: what a human deletes or edits by hand comes back within seconds.

Aspects under test:
- a deleted child Service and a deleted child Deployment are recreated;
- replicas edited on the API Deployment are set back to the spec's;
- an environment variable the operator set, edited by hand, gets its value back;
- a paused platform is left alone (phase Paused), and repaired once unpaused.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, condition
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPAIR_TIMEOUT = 60.0
LOG_LEVEL = {"name": "JOURNAL_API_LOG_LEVEL", "value": "INFO"}


def _env(deployment: dict[str, Any], name: str) -> str | None:
    for var in deployment["spec"]["template"]["spec"]["containers"][0].get("env") or []:
        if var["name"] == name:
            return str(var.get("value"))
    return None


@pytest.fixture
def ready_platform(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> str:
    k8s_cluster.apply(platforms.platform("drift", k8s_namespace, api={"env": [LOG_LEVEL]}))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "drift")
    return "drift"


def test_deleted_service_and_deployment_are_recreated(
    k8s_cluster: LocalCluster, k8s_namespace: str, ready_platform: str
) -> None:
    service_uid = k8s_cluster.get("service", "drift-api", namespace=k8s_namespace)["metadata"][
        "uid"
    ]
    worker_uid = k8s_cluster.get("deployment", "drift-worker", namespace=k8s_namespace)["metadata"][
        "uid"
    ]
    k8s_cluster.delete("service", "drift-api", namespace=k8s_namespace, wait=True)
    k8s_cluster.delete("deployment", "drift-worker", namespace=k8s_namespace, wait=True)

    k8s_cluster.wait_for(
        "service",
        "drift-api",
        lambda s: s["metadata"]["uid"] != service_uid,
        namespace=k8s_namespace,
        timeout=REPAIR_TIMEOUT,
    )
    k8s_cluster.wait_for(
        "deployment",
        "drift-worker",
        lambda d: d["metadata"]["uid"] != worker_uid,
        namespace=k8s_namespace,
        timeout=REPAIR_TIMEOUT,
    )
    platforms.wait_ready(k8s_cluster, k8s_namespace, ready_platform)


def test_edited_replicas_and_env_are_restored(
    k8s_cluster: LocalCluster, k8s_namespace: str, ready_platform: str
) -> None:
    k8s_cluster.kubectl("scale", "deployment/drift-api", "-n", k8s_namespace, "--replicas=4")
    k8s_cluster.kubectl(
        "set", "env", "deployment/drift-api", "-n", k8s_namespace, "JOURNAL_API_LOG_LEVEL=DEBUG"
    )

    restored = k8s_cluster.wait_for(
        "deployment",
        "drift-api",
        lambda d: d["spec"]["replicas"] == 1 and _env(d, "JOURNAL_API_LOG_LEVEL") == "INFO",
        namespace=k8s_namespace,
        timeout=REPAIR_TIMEOUT,
        description="replicas and env restored",
    )
    assert restored["spec"]["replicas"] == 1


def test_paused_platform_is_left_alone_until_unpaused(
    k8s_cluster: LocalCluster, k8s_namespace: str, ready_platform: str
) -> None:
    platforms.patch_spec(k8s_cluster, k8s_namespace, "drift", {"paused": True})
    jp = k8s_cluster.wait_for(
        "journalplatform",
        "drift",
        lambda o: o.get("status", {}).get("phase") == "Paused",
        namespace=k8s_namespace,
        timeout=REPAIR_TIMEOUT,
    )
    progressing = condition(jp, "Progressing")
    assert progressing is not None
    assert progressing["reason"] == "ReconciliationPaused"

    platforms.patch_spec(k8s_cluster, k8s_namespace, "drift", {"api": {"replicas": 2}})
    k8s_cluster.delete("service", "drift-api", namespace=k8s_namespace, wait=True)
    # Several resync intervals (10 s in tests): a paused platform must not be touched.
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        assert k8s_cluster.get_or_none("service", "drift-api", namespace=k8s_namespace) is None
        api = k8s_cluster.get("deployment", "drift-api", namespace=k8s_namespace)
        assert api["spec"]["replicas"] == 1
        time.sleep(2)

    k8s_cluster.kubectl(
        "patch",
        "journalplatform",
        "drift",
        "-n",
        k8s_namespace,
        "--type",
        "merge",
        "-p",
        json.dumps({"spec": {"paused": False}}),
    )
    k8s_cluster.wait_for(
        "deployment",
        "drift-api",
        lambda d: d["spec"]["replicas"] == 2,
        namespace=k8s_namespace,
        timeout=REPAIR_TIMEOUT,
    )
    k8s_cluster.wait_for(
        "service", "drift-api", lambda s: True, namespace=k8s_namespace, timeout=REPAIR_TIMEOUT
    )
    platforms.wait_ready(k8s_cluster, k8s_namespace, "drift")
