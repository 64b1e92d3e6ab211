"""Deleting a platform honours ``deletionPolicy``.

Aspects under test:
- Retain: the generated Secrets never carry an owner reference; they and the database volume
  stay, labelled as retained, the PersistentVolume with reclaim policy Retain; everything
  else is garbage-collected; switching to Delete puts the owner reference on the Secrets;
- Delete: Secrets, volumes and every other child are gone (and each kind existed before).
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
    # Never an owner reference under Retain, not only after the finalizer ran: garbage
    # collection cannot take them even if the finalizer never runs.
    living = _children(k8s_cluster, k8s_namespace, "secret", "keep")
    assert {s["metadata"]["name"] for s in living} == {
        "keep-database",
        "keep-jwt",
        "keep-redis-auth",
    }
    assert not any(s["metadata"].get("ownerReferences") for s in living)

    _delete_platform(k8s_cluster, k8s_namespace, "keep")

    wait_until(
        lambda: not _children(k8s_cluster, k8s_namespace, "deployment", "keep"),
        timeout=GONE_TIMEOUT,
        description="Deployments garbage-collected",
    )
    secrets = _children(k8s_cluster, k8s_namespace, "secret", "keep")
    pvcs = _children(k8s_cluster, k8s_namespace, "pvc", "keep")
    assert {s["metadata"]["name"] for s in secrets} == {
        "keep-database",
        "keep-jwt",
        "keep-redis-auth",
    }
    assert pvcs
    for obj in (*secrets, *pvcs):
        meta = obj["metadata"]
        assert not meta.get("ownerReferences"), meta
        assert meta["labels"][RETAINED] == "true"
    # The volumes themselves outlive the claims: reclaim policy Retain (the class says Delete).
    for pvc in pvcs:
        volume = k8s_cluster.get("pv", pvc["spec"]["volumeName"])
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


def test_policy_change_to_delete_puts_the_owner_reference_on_the_secrets(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("flip", k8s_namespace, deletionPolicy="Retain"))
    jp = platforms.wait_ready(k8s_cluster, k8s_namespace, "flip")
    platforms.patch_spec(k8s_cluster, k8s_namespace, "flip", {"deletionPolicy": "Delete"})

    def owned() -> bool:
        secrets = _children(k8s_cluster, k8s_namespace, "secret", "flip")
        return len(secrets) == 3 and all(  # database, redis-auth, jwt
            [r["uid"] for r in s["metadata"].get("ownerReferences") or []]
            == [jp["metadata"]["uid"]]
            for s in secrets
        )

    wait_until(owned, timeout=GONE_TIMEOUT, description="Secrets owned after deletionPolicy Delete")


def test_delete_removes_secrets_volumes_and_children(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("drop", k8s_namespace, deletionPolicy="Delete"))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "drop")
    kinds = ("secret", "pvc", "deployment", "statefulset", "service", "configmap")
    # What "gone" is measured against: every kind had children before the delete.
    before = {kind: len(_children(k8s_cluster, k8s_namespace, kind, "drop")) for kind in kinds}
    assert all(before.values()), before
    assert before["secret"] >= 3, before  # database, redis-auth, jwt

    _delete_platform(k8s_cluster, k8s_namespace, "drop")

    for kind in kinds:
        wait_until(
            functools.partial(_none_left, k8s_cluster, k8s_namespace, kind, "drop"),
            timeout=GONE_TIMEOUT,
            description=f"{kind}s of the platform deleted",
        )


def _none_left(cluster: LocalCluster, namespace: str, kind: str, name: str) -> bool:
    return not _children(cluster, namespace, kind, name)
