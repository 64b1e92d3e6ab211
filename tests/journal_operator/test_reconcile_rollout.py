"""Graceful rollouts: migrations first, then a rolling update; failures stop safely.

Aspects under test:
- a version bump runs the new version's migrations Job to completion before the API and
  worker roll, and the API's Service never has fewer ready endpoints than its replicas
  meanwhile (observed as clients see it, through EndpointSlices), with 1 and 2 replicas;
- a new API image of the same version is not served before its own migrations succeeded;
- a failing migrations Job leaves the old version serving, says Degraded with the Job's
  reason, and is not retried in a loop (one Job, never recreated, no further applies);
- a rollout that stops progressing shows Progressing=False/ProgressDeadlineExceeded;
- a version below the migrated schema is refused with a clear message, also when the
  platform was deleted (its Secrets retained) and re-created with the older version.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster, condition, condition_is, wait_until
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REGISTRY = "ghcr.io/journal-platform"
ROLL_TIMEOUT = 300.0


def _image(deployment: dict[str, Any]) -> str:
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def _jobs(cluster: LocalCluster, namespace: str, name: str) -> list[dict[str, Any]]:
    return cluster.items(
        "job",
        namespace=namespace,
        selector=f"app.kubernetes.io/instance={name},app.kubernetes.io/component=migrations",
    )


def _ready_endpoints(cluster: LocalCluster, namespace: str, service: str) -> int:
    # What clients see: ready endpoints behind the API's Service (EndpointSlices, kept by the
    # real endpoint-slice controller from pod readiness), not the Deployment's counters.
    slices = cluster.items(
        "endpointslice", namespace=namespace, selector=f"kubernetes.io/service-name={service}"
    )
    return sum(
        1
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready") is True
    )


@pytest.mark.parametrize("replicas", [1, 2])
def test_version_bump_migrates_first_then_rolls_without_losing_availability(
    k8s_cluster: LocalCluster,
    k8s_namespace: str,
    journal_operator: OperatorProcess,
    replicas: int,
) -> None:
    name = f"bump-{replicas}"
    k8s_cluster.apply(platforms.platform(name, k8s_namespace, api={"replicas": replicas}))
    platforms.wait_ready(k8s_cluster, k8s_namespace, name)
    wait_until(
        lambda: _ready_endpoints(k8s_cluster, k8s_namespace, f"{name}-api") >= replicas,
        timeout=60,
        description="the API Service has its endpoints",
    )

    platforms.patch_spec(k8s_cluster, k8s_namespace, name, {"version": "1.1.0"})

    lowest_endpoints = replicas
    samples = 0
    deadline = time.monotonic() + ROLL_TIMEOUT
    while True:
        lowest_endpoints = min(
            lowest_endpoints, _ready_endpoints(k8s_cluster, k8s_namespace, f"{name}-api")
        )
        samples += 1
        api = k8s_cluster.get("deployment", f"{name}-api", namespace=k8s_namespace)
        if _image(api).endswith(":1.1.0"):
            # The new image may only appear once the new schema is in place.
            job = k8s_cluster.get("job", f"{name}-migrate-1-1-0", namespace=k8s_namespace)
            assert condition_is(job, "Complete"), "API rolled before its migration completed"
        jp = k8s_cluster.get("journalplatform", name, namespace=k8s_namespace)
        if jp.get("status", {}).get("version", {}).get("running") == "1.1.0" and platforms.is_ready(
            jp
        ):
            break
        assert time.monotonic() < deadline, f"roll did not finish: {jp.get('status')}"
        time.sleep(0.2)

    assert samples >= 2
    assert lowest_endpoints >= replicas, (
        f"the API Service dropped to {lowest_endpoints} ready endpoints during the roll"
    )
    version = jp["status"]["version"]
    assert {k: version[k] for k in ("running", "desired", "migrated")} == {
        "running": "1.1.0",
        "desired": "1.1.0",
        "migrated": "1.1.0",
    }
    assert version["images"] == {"api": f"{REGISTRY}/journal-api:1.1.0"} | {
        "worker": f"{REGISTRY}/journal-api:1.1.0"
    }
    assert version["migratedImage"] == f"{REGISTRY}/journal-api:1.1.0"
    worker = k8s_cluster.get("deployment", f"{name}-worker", namespace=k8s_namespace)
    assert _image(worker) == f"{REGISTRY}/journal-api:1.1.0"


def test_failing_migration_keeps_old_version_degraded_without_retry_loop(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("broken", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "broken")

    platforms.patch_spec(
        k8s_cluster,
        k8s_namespace,
        "broken",
        {"version": "1.1.0", "images": {"migrations": f"{REGISTRY}/journal-api:1.1.0-fail"}},
    )

    jp = k8s_cluster.wait_for(
        "journalplatform",
        "broken",
        lambda o: condition_is(o, "Degraded"),
        namespace=k8s_namespace,
        timeout=ROLL_TIMEOUT,
        description="Degraded=True",
    )
    degraded = condition(jp, "Degraded")
    assert degraded is not None
    assert degraded["reason"] == "MigrationFailed"
    assert "BackoffLimitExceeded" in degraded["message"]
    assert jp["status"]["phase"] == "Degraded"
    assert jp["status"]["version"]["running"] == "1.0.0"
    api = k8s_cluster.get("deployment", "broken-api", namespace=k8s_namespace)
    assert _image(api).endswith(":1.0.0")
    assert (api["status"].get("availableReplicas") or 0) >= 1

    # An explicit migrations image gets a Job of its own (the version's name plus a digest).
    failed_jobs = [
        j
        for j in _jobs(k8s_cluster, k8s_namespace, "broken")
        if j["metadata"]["name"].startswith("broken-migrate-1-1-0-")
    ]
    assert len(failed_jobs) == 1
    uid = failed_jobs[0]["metadata"]["uid"]
    applies = journal_operator.metric("journal_operator_child_applies_total", kind="Job")
    # Three resync intervals (10 s in tests) and any child events: nothing is re-run.
    time.sleep(30)
    again = [
        j
        for j in _jobs(k8s_cluster, k8s_namespace, "broken")
        if j["metadata"]["name"].startswith("broken-migrate-1-1-0-")
    ]
    assert [j["metadata"]["uid"] for j in again] == [uid]
    assert journal_operator.metric("journal_operator_child_applies_total", kind="Job") == applies
    jp = k8s_cluster.get("journalplatform", "broken", namespace=k8s_namespace)
    assert condition_is(jp, "Degraded")


def test_new_api_image_is_not_served_before_its_migrations_succeed(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("image", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "image")

    # Same version, a new API image; the migrations image follows it and fails.
    new_image = f"{REGISTRY}/journal-api:1.0.0-fail"
    platforms.patch_spec(k8s_cluster, k8s_namespace, "image", {"images": {"api": new_image}})

    deadline = time.monotonic() + ROLL_TIMEOUT
    while True:
        for name in ("image-api", "image-worker"):
            deployment = k8s_cluster.get("deployment", name, namespace=k8s_namespace)
            assert _image(deployment) == f"{REGISTRY}/journal-api:1.0.0", (
                f"{name} got the new image before its migrations succeeded"
            )
        jp = k8s_cluster.get("journalplatform", "image", namespace=k8s_namespace)
        if (condition(jp, "Degraded") or {}).get("reason") == "MigrationFailed":
            break
        assert time.monotonic() < deadline, f"no MigrationFailed: {jp.get('status')}"
        time.sleep(0.3)
    jobs = [j["metadata"]["name"] for j in _jobs(k8s_cluster, k8s_namespace, "image")]
    assert any(n.startswith("image-migrate-1-0-0-") for n in jobs), jobs
    assert jp["status"]["version"]["images"]["api"] == f"{REGISTRY}/journal-api:1.0.0"


def test_stalled_rollout_reports_progress_deadline_exceeded(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(
        platforms.platform("stalled", k8s_namespace, rollout={"progressDeadlineSeconds": 30})
    )
    platforms.wait_ready(k8s_cluster, k8s_namespace, "stalled")

    platforms.patch_spec(
        k8s_cluster,
        k8s_namespace,
        "stalled",
        # The schema is the one 1.0.0 migrated: pinning that migrations image lets the new API
        # image roll at once (it would otherwise migrate first, with a Job that never ends).
        {
            "images": {
                "api": f"{REGISTRY}/journal-api:1.0.0-stall",
                "migrations": f"{REGISTRY}/journal-api:1.0.0",
            }
        },
    )

    jp = k8s_cluster.wait_for(
        "journalplatform",
        "stalled",
        lambda o: (
            condition_is(o, "Progressing", "False")
            and (condition(o, "Progressing") or {}).get("reason") == "ProgressDeadlineExceeded"
        ),
        namespace=k8s_namespace,
        timeout=ROLL_TIMEOUT,
        description="Progressing=False/ProgressDeadlineExceeded",
    )
    assert condition_is(jp, "Degraded")
    assert "stalled-api" in (condition(jp, "Progressing") or {})["message"]
    api = k8s_cluster.get("deployment", "stalled-api", namespace=k8s_namespace)
    assert (api["status"].get("availableReplicas") or 0) >= 1, "old pods must keep serving"


def test_downgrade_below_migrated_schema_is_refused(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("newer", k8s_namespace, version="1.2.0"))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "newer")

    platforms.patch_spec(k8s_cluster, k8s_namespace, "newer", {"version": "1.1.0"})

    jp = k8s_cluster.wait_for(
        "journalplatform",
        "newer",
        lambda o: (condition(o, "Degraded") or {}).get("reason") == "DowngradeRefused",
        namespace=k8s_namespace,
        timeout=120,
        description="Degraded=True/DowngradeRefused",
    )
    message = (condition(jp, "Degraded") or {})["message"]
    assert "1.1.0" in message
    assert "1.2.0" in message
    assert jp["status"]["version"]["running"] == "1.2.0"
    assert jp["status"]["version"]["migrated"] == "1.2.0"
    api = k8s_cluster.get("deployment", "newer-api", namespace=k8s_namespace)
    assert _image(api).endswith(":1.2.0")
    assert not [
        j
        for j in _jobs(k8s_cluster, k8s_namespace, "newer")
        if j["metadata"]["name"] == "newer-migrate-1-1-0"
    ]


def test_downgrade_refusal_survives_a_recreated_platform(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    k8s_cluster.apply(platforms.platform("again", k8s_namespace, version="1.2.0"))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "again")
    # deletionPolicy Retain (the default) keeps the Secrets, and with them the record.
    k8s_cluster.kubectl("delete", "journalplatform", "again", "-n", k8s_namespace, "--wait=true")

    k8s_cluster.apply(platforms.platform("again", k8s_namespace, version="1.1.0"))
    jp = k8s_cluster.wait_for(
        "journalplatform",
        "again",
        lambda o: (condition(o, "Degraded") or {}).get("reason") == "DowngradeRefused",
        namespace=k8s_namespace,
        timeout=120,
        description="Degraded=True/DowngradeRefused on the re-created platform",
    )
    assert "1.2.0" in (condition(jp, "Degraded") or {})["message"]
    assert not [
        j
        for j in _jobs(k8s_cluster, k8s_namespace, "again")
        if j["metadata"]["name"] == "again-migrate-1-1-0"
    ]
