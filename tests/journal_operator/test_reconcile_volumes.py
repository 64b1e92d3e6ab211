"""The managed database's volume grows when `storage` grows, where the StorageClass allows it.

Aspects under test (real control plane: the API server's PersistentVolumeClaimResize
admission decides, KWOK provisions and binds the volumes of the `kwok-volume` class):
- a larger `storage` is accepted by the CRD and does not break the StatefulSet, whose claim
  template cannot change: the platform stays Ready for the new generation;
- while the StorageClass does not allow expansion, the claim keeps its size and the platform
  gets a warning Event with the API server's reason;
- once it allows expansion, the claim is patched to the new size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, wait_until
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

CLASS = "kwok-volume"  # the only class KWOK's volume stages provision


@pytest.fixture
def expansion_off(k8s_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The class as up.sh installs it (no expansion), and so again afterwards."""
    _allow_expansion(k8s_cluster, False)
    yield k8s_cluster
    _allow_expansion(k8s_cluster, False)


def _allow_expansion(cluster: LocalCluster, allowed: bool) -> None:
    patch = json.dumps({"allowVolumeExpansion": allowed})
    cluster.kubectl("patch", "storageclass", CLASS, "--type=merge", "-p", patch)


def _claim_storage(cluster: LocalCluster, namespace: str) -> str:
    (claim,) = cluster.items("pvc", namespace=namespace, selector="app.kubernetes.io/instance=grow")
    return str(claim["spec"]["resources"]["requests"]["storage"])


def test_storage_grows_through_the_claim_where_the_class_allows_it(
    expansion_off: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    cluster = expansion_off
    cluster.apply(
        platforms.platform(
            "grow",
            k8s_namespace,
            database={"managed": {"storage": "1Gi", "storageClassName": CLASS}},
        )
    )
    platforms.wait_ready(cluster, k8s_namespace, "grow")
    wait_until(
        lambda: cluster.items("pvc", namespace=k8s_namespace) or None,
        timeout=60,
        description="the data claim",
    )
    assert _claim_storage(cluster, k8s_namespace) == "1Gi"

    platforms.patch_spec(
        cluster, k8s_namespace, "grow", {"database": {"managed": {"storage": "2Gi"}}}
    )

    # Refused by the API server while the class does not allow expansion, and said so.
    def refused() -> bool:
        events = cluster.items("events", namespace=k8s_namespace)
        return any(
            e["involvedObject"].get("name") == "grow"
            and e.get("reason") == "VolumeExpansionRefused"
            and e.get("type") == "Warning"
            and "resize" in e["message"]
            for e in events
        )

    wait_until(refused, timeout=90, description="a warning Event about the refused resize")
    assert _claim_storage(cluster, k8s_namespace) == "1Gi"
    # The StatefulSet was not re-applied with a new claim template (that would be a 422).
    jp = platforms.wait_ready(cluster, k8s_namespace, "grow")
    sts = cluster.get("statefulset", "grow-postgres", namespace=k8s_namespace)
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {
        "storage": "1Gi"
    }
    assert jp["status"]["phase"] == "Ready"

    _allow_expansion(cluster, True)
    wait_until(
        lambda: _claim_storage(cluster, k8s_namespace) == "2Gi",
        timeout=90,
        description="the claim patched to 2Gi",
    )
