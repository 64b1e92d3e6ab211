"""Generated Secrets are never adopted from someone else, nor regenerated over live data.

Aspects under test (real API server and controllers, KWOK nodes):
- a Secret of a generated name that the operator did not create keeps the platform Pending
  with the conflict and what to do; the Secret is left exactly as it was (no owner
  reference, no label, no data change);
- when the generated database Secret is deleted while the database's volume remains, no
  new password is generated (PostgreSQL would never accept it): the platform says so, with
  the recovery commands.
"""

from __future__ import annotations

import time

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_a_foreign_secret_is_reported_not_adopted(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "taken-jwt", "namespace": k8s_namespace, "labels": {"team": "a"}},
            "stringData": {"key": "someone-elses"},
        }
    )
    before = k8s_cluster.get("secret", "taken-jwt", namespace=k8s_namespace)
    k8s_cluster.apply(platforms.platform("taken", k8s_namespace))

    jp = k8s_cluster.wait_for(
        "journalplatform",
        "taken",
        lambda o: (
            "was not created by the journal operator"
            in (o.get("status") or {}).get("phaseReason", "")
        ),
        namespace=k8s_namespace,
        timeout=120,
        description="the conflict in status",
    )
    assert jp["status"]["phase"] == "Pending"
    assert "taken-jwt" in jp["status"]["phaseReason"]
    after = k8s_cluster.get("secret", "taken-jwt", namespace=k8s_namespace)
    assert after["metadata"].get("ownerReferences") is None
    assert after["metadata"]["labels"] == {"team": "a"}
    assert after["data"] == before["data"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_lost_database_secret_with_its_volume_is_not_regenerated(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("lost", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "lost")
    claims = k8s_cluster.items("persistentvolumeclaim", namespace=k8s_namespace)
    assert claims, "the database volume must exist for this test to mean anything"

    k8s_cluster.kubectl("delete", "secret", "lost-database", "-n", k8s_namespace)

    jp = k8s_cluster.wait_for(
        "journalplatform",
        "lost",
        lambda o: (
            "lost-database with the database password is gone"
            in (o.get("status") or {}).get("phaseReason", "")
        ),
        namespace=k8s_namespace,
        timeout=120,
        description="the lost Secret in status",
    )
    reason = jp["status"]["phaseReason"]
    assert "kubectl delete pvc" in reason
    assert claims[0]["metadata"]["name"] in reason
    time.sleep(15)  # a resync later: still no new password
    assert k8s_cluster.get_or_none("secret", "lost-database", namespace=k8s_namespace) is None
