"""The operator survives being killed, and keeps up with many platforms.

Aspects under test:
- killed (SIGKILL) in the middle of reconciling, then restarted: every platform converges
  to Ready and nothing is duplicated (one migrations Job, one of each Deployment, the
  generated Secrets created once);
- 50 platforms in 5 namespaces all reach Ready.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, wait_until
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

MANY_NAMESPACES = 5
PER_NAMESPACE = 10
EXTERNAL_DB = {"mode": "external", "external": {"secretRef": {"name": "shared-db"}}}
LEANEST = {"database": EXTERNAL_DB, "cache": {"mode": "disabled"}, "worker": {"replicas": 0}}


def _names(cluster: LocalCluster, namespace: str, kind: str) -> list[str]:
    return [o["metadata"]["name"] for o in cluster.items(kind, namespace=namespace)]


def test_killed_mid_reconcile_converges_without_duplicates(
    k8s_cluster: LocalCluster, k8s_namespace: str, restart_operator: OperatorProcess
) -> None:
    names = [f"crash-{i}" for i in range(3)]
    k8s_cluster.apply([platforms.platform(n, k8s_namespace) for n in names])
    # Mid-reconcile: the first platform has its migrations Job, not yet its API.
    wait_until(
        lambda: k8s_cluster.get_or_none("job", "crash-0-migrate-1-0-0", namespace=k8s_namespace),
        timeout=120,
        interval=0.1,
        description="first migrations Job",
    )
    restart_operator.kill()
    # Proof that the kill landed mid-reconcile: work was started (the Job) and work was left
    # (a platform without its API, which only follows the migrations).
    unfinished = [
        n
        for n in names
        if k8s_cluster.get_or_none("deployment", f"{n}-api", namespace=k8s_namespace) is None
    ]
    assert unfinished, "the operator had finished every platform before it was killed"
    jwt_before = {
        s["metadata"]["name"]: s["metadata"]["uid"]
        for s in k8s_cluster.items("secret", namespace=k8s_namespace)
    }
    restart_operator.start()

    for name in names:
        platforms.wait_ready(k8s_cluster, k8s_namespace, name)
    for kind in ("job", "deployment", "statefulset", "service", "configmap", "secret"):
        counts = Counter(_names(k8s_cluster, k8s_namespace, kind))
        assert all(c == 1 for c in counts.values()), (kind, counts)
    jobs = _names(k8s_cluster, k8s_namespace, "job")
    assert sorted(jobs) == sorted(f"{n}-migrate-1-0-0" for n in names)
    deployments = set(_names(k8s_cluster, k8s_namespace, "deployment"))
    assert deployments == {f"{n}-{c}" for n in names for c in ("api", "worker", "redis")}
    # Secrets that existed before the kill were kept, not regenerated.
    after = {
        s["metadata"]["name"]: s["metadata"]["uid"]
        for s in k8s_cluster.items("secret", namespace=k8s_namespace)
    }
    assert all(after[name] == uid for name, uid in jwt_before.items())


@pytest.mark.timeout(1200)
def test_fifty_platforms_in_five_namespaces_reach_ready(
    k8s_cluster: LocalCluster, journal_operator: OperatorProcess
) -> None:
    namespaces = [f"many-{uuid.uuid4().hex[:6]}" for _ in range(MANY_NAMESPACES)]
    try:
        for ns in namespaces:
            k8s_cluster.create_namespace(ns)
            k8s_cluster.kubectl(
                "create",
                "secret",
                "generic",
                "shared-db",
                "-n",
                ns,
                "--from-literal=uri=postgresql://journal@db.example/journal",
            )
            k8s_cluster.apply(
                [platforms.platform(f"p{i}", ns, **LEANEST) for i in range(PER_NAMESPACE)]
            )

        def all_ready() -> bool:
            ready = 0
            for ns in namespaces:
                ready += sum(
                    platforms.is_ready(o)
                    for o in k8s_cluster.items("journalplatform", namespace=ns)
                )
            return ready == MANY_NAMESPACES * PER_NAMESPACE

        wait_until(all_ready, timeout=900, interval=5, description="50 platforms Ready")
    finally:
        for ns in namespaces:
            k8s_cluster.kubectl(
                "delete", "journalplatform", "--all", "-n", ns, "--wait=false", check=False
            )
            k8s_cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
