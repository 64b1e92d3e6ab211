"""A steady platform costs the operator almost nothing between changes.

Aspects under test (real control plane, operator subprocess with a 10 s resync):
- once Ready, resync passes whose inputs (the owner's and every child's resourceVersion)
  did not change are skipped: `reconciles_total{trigger="resync",result="unchanged"}` grows;
- a change still gets a full pass at once: a child edited by hand is repaired.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, wait_until
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

RESYNC_SECONDS = 10.0  # tests.support.operator_process


def test_unchanged_resyncs_are_skipped_and_changes_are_not(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("idle", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "idle")
    time.sleep(RESYNC_SECONDS + 2)  # the last status write's echo settles

    skipped = journal_operator.metric(
        "journal_operator_reconciles_total", trigger="resync", result="unchanged"
    )
    time.sleep(3 * RESYNC_SECONDS)
    assert (
        journal_operator.metric(
            "journal_operator_reconciles_total", trigger="resync", result="unchanged"
        )
        >= skipped + 2
    )
    assert platforms.is_ready(k8s_cluster.get("journalplatform", "idle", namespace=k8s_namespace))

    # A hand edit of a child is still repaired at once (its watch event is a change).
    patch = json.dumps({"spec": {"replicas": 3}})
    k8s_cluster.kubectl(
        "patch", "deployment", "idle-api", "-n", k8s_namespace, "--type=merge", "-p", patch
    )
    wait_until(
        lambda: (
            k8s_cluster.get("deployment", "idle-api", namespace=k8s_namespace)["spec"]["replicas"]
            == 1
        ),
        timeout=30,
        description="the edited Deployment repaired",
    )
