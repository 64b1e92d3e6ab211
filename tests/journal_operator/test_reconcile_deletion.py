"""Deleting a platform honours ``deletionPolicy``.

Aspects under test:
- Retain: the generated Secrets and the database volume stay, without an owner reference,
  labelled as retained; everything else is garbage-collected;
- Delete: Secrets, volumes and every other child are gone.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, wait_until
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

GONE_TIMEOUT = 120.0
RETAINED = "journalplatform.io/retained"


def _children(cluster: LocalCluster, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
    return cluster.items(kind, namespace=namespace, selector=f"app.kubernetes.io/instance={name}")


def _delete_platform(cluster: LocalCluster, namespace: str, name: str) -> None:
    cluster.delete("journalplatform", name, namespace=namespace)
    wait_until(
        lambda: cluster.get_or_none("journalplatform", name, namespace=namespace) is None,
        timeout=GONE_TIMEOUT,
        description=f"JournalPlatform {name} deleted",
    )


def test_retain_keeps_secrets_and_volumes_orphaned_and_labelled(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("keep", k8s_namespace, deletionPolicy="Retain"))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "keep")
    assert _children(k8s_cluster, k8s_namespace, "pvc", "keep")

    _delete_platform(k8s_cluster, k8s_namespace, "keep")

    wait_until(
        lambda: not _children(k8s_cluster, k8s_namespace, "deployment", "keep"),
        timeout=GONE_TIMEOUT,
        description="Deployments garbage-collected",
    )
    secrets = _children(k8s_cluster, k8s_namespace, "secret", "keep")
    pvcs = _children(k8s_cluster, k8s_namespace, "pvc", "keep")
    assert {s["metadata"]["name"] for s in secrets} == {"keep-database", "keep-jwt"}
    assert pvcs
    for obj in (*secrets, *pvcs):
        meta = obj["metadata"]
        assert not meta.get("ownerReferences"), meta
        assert meta["labels"][RETAINED] == "true"


def test_delete_removes_secrets_volumes_and_children(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("drop", k8s_namespace, deletionPolicy="Delete"))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "drop")

    _delete_platform(k8s_cluster, k8s_namespace, "drop")

    for kind in ("secret", "pvc", "deployment", "statefulset", "service", "configmap"):
        wait_until(
            functools.partial(_none_left, k8s_cluster, k8s_namespace, kind, "drop"),
            timeout=GONE_TIMEOUT,
            description=f"{kind}s of the platform deleted",
        )


def _none_left(cluster: LocalCluster, namespace: str, kind: str, name: str) -> bool:
    return not _children(cluster, namespace, kind, name)
