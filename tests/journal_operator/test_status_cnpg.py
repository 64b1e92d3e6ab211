"""`DatabaseReady` follows the CloudNativePG Cluster's own status (pure).

Ready needs the Cluster's Ready condition True *and* every instance asked for ready; anything
else passes CloudNativePG's phase and phase reason on, so a user sees "Failing over" or why an
instance cannot be created without reading the Cluster.
"""

from __future__ import annotations

from typing import Any

from journal_operator import cnpg_status, health, naming, observe

from tests.journal_operator import factories

CNPG = {"database": {"mode": "cnpg", "cnpg": {"instances": 3}}}


def _cluster(status: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "demo-postgres", "namespace": factories.NAMESPACE, "generation": 1},
        "spec": {"instances": 3, "imageName": "ghcr.io/cloudnative-pg/postgresql:17.6"},
    }
    if status is not None:
        body["status"] = status
    return body


def _healthy(ready: int = 3) -> dict[str, Any]:
    return {
        "phase": cnpg_status.HEALTHY_PHASE,
        "instances": 3,
        "readyInstances": ready,
        "writeService": "demo-postgres-rw",
        "image": "ghcr.io/cloudnative-pg/postgresql:17.6",
        "conditions": [{"type": "Ready", "status": "True", "reason": "ClusterIsReady"}],
    }


def _database(children: list[dict[str, Any]]) -> health.Health:
    return health.database(factories.platform(CNPG), observe.observe(children))


def test_missing_cluster_is_not_ready() -> None:
    found = _database([])
    assert (found.verdict.status, found.verdict.reason) == ("False", "ClusterMissing")
    assert found.facts["summary"] == "0/3"


def test_cluster_without_status_is_not_ready() -> None:
    found = _database([_cluster(None)])
    assert found.verdict.status == "False"
    assert "CloudNativePG has not reported a phase yet" in found.verdict.message


def test_healthy_cluster_is_ready_with_the_read_write_host() -> None:
    p = factories.platform(CNPG)
    found = _database([_cluster(_healthy())])
    assert (found.verdict.status, found.verdict.reason) == ("True", "ClusterReady")
    assert found.facts == {
        "ready": True,
        "replicas": 3,
        "readyReplicas": 3,
        "summary": "3/3",
        "host": naming.service_host(p, "demo-postgres-rw"),
        "image": "ghcr.io/cloudnative-pg/postgresql:17.6",
    }


def test_ready_condition_with_an_instance_missing_is_not_ready() -> None:
    found = _database([_cluster(_healthy(ready=2))])
    assert found.verdict.status == "False"
    assert found.facts["summary"] == "2/3"


def test_phase_and_reason_of_a_failing_cluster_are_passed_on() -> None:
    status = _healthy(ready=2) | {
        "phase": "Failing over",
        "phaseReason": "Failing over from demo-postgres-1 to demo-postgres-2",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ClusterIsNotReady"}],
    }
    found = _database([_cluster(status)])
    assert (found.verdict.status, found.verdict.reason) == ("False", "ClusterIsNotReady")
    assert "Failing over (Failing over from demo-postgres-1 to demo-postgres-2)" in (
        found.verdict.message
    )
    assert found.facts["message"] == found.verdict.message


def test_a_statefulset_of_the_same_name_does_not_count_in_cnpg_mode() -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "demo-postgres", "generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1},
    }
    assert _database([sts]).verdict.status == "False"


def test_not_installed_message_says_how_to_fix_it() -> None:
    message = cnpg_status.not_installed_message()
    assert message.startswith("CloudNativePG is not installed")
    assert "spec.database.mode managed" in message
