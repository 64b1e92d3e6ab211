"""Failures are visible in status, named by child, pod and container (pure, no cluster).

Aspects under test:
- a child the API server refused makes the platform Degraded with the child and the
  server's message, while the rest of the status is still computed;
- ``kserve`` mode without KServe says so and how to fix it, instead of an empty status;
- pods in ImagePullBackOff / ErrImagePull / CrashLoopBackOff and unschedulable pods are
  Degraded causes that name the pod and the container;
- a platform that was Ready for this spec and loses a component is Degraded, not
  Provisioning; a stalled Redis or model server Deployment is a stalled rollout too;
- ``inference.mode: auto`` keeps the mode recorded in status.
"""

from __future__ import annotations

from typing import Any

from journal_operator import health, observe, reconcile, rollout, status

from tests.journal_operator import factories

T0 = "2026-01-01T00:00:00Z"
MIGRATED = rollout.decide(desired="1.0.0", running="1.0.0", migrated="1.0.0", job=None)


def _deployment(name: str, *, ready: int = 1, progressing: str = "True") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "generation": 1},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": {}}}},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": 1,
            "conditions": [
                {
                    "type": "Progressing",
                    "status": progressing,
                    "reason": "NewReplicaSetAvailable"
                    if progressing == "True"
                    else "ProgressDeadlineExceeded",
                    "message": "m",
                }
            ],
        },
    }


def _statefulset(name: str) -> dict[str, Any]:
    return {
        "kind": "StatefulSet",
        "metadata": {"name": name, "generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "readyReplicas": 1, "availableReplicas": 1},
    }


def _healthy(**overrides: dict[str, Any]) -> observe.Observed:
    bodies = {
        "demo-api": _deployment("demo-api"),
        "demo-worker": _deployment("demo-worker"),
        "demo-redis": _deployment("demo-redis"),
        **overrides,
    }
    return observe.observe([*bodies.values(), _statefulset("demo-postgres")])


def _compute(
    observed: observe.Observed,
    *,
    current: dict[str, Any] | None = None,
    facts: status.PassFacts | None = None,
    fields: dict[str, Any] | None = None,
    inference_mode: str = "deployment",
) -> dict[str, Any]:
    p = factories.platform({"inference": {"models": []}, **(fields or {})})
    return status.compute(
        p,
        observed,
        decision=MIGRATED,
        inference_mode=inference_mode,
        current=current or {},
        now=T0,
        facts=facts,
    )


def _condition(result: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in result["conditions"] if c["type"] == type_)


def test_names_of_the_healthy_fixture_match_the_builders() -> None:
    # The fixture's children are the ones the builders name, or the tests below prove nothing.
    result = _compute(_healthy())
    assert result["phase"] == "Ready", result["phaseReason"]


def test_a_refused_child_is_degraded_with_the_child_and_the_server_message() -> None:
    refused = status.ApplyFailure(
        "Ingress", "demo-api", "403 Forbidden: exceeded quota: q, requested: count/ingresses=1"
    )
    result = _compute(_healthy(), facts=status.PassFacts(failures=(refused,)))
    degraded = _condition(result, "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ApplyFailed")
    assert "Ingress demo-api" in degraded["message"]
    assert "exceeded quota" in degraded["message"]
    assert result["phase"] == "Degraded"
    # Everything else is still reported.
    assert _condition(result, "ApiReady")["status"] == "True"


def test_kserve_mode_without_kserve_says_how_to_fix_it() -> None:
    result = _compute(
        _healthy(),
        facts=status.PassFacts(kserve_missing=True),
        fields={"inference": {"mode": "kserve"}},
        inference_mode="kserve",
    )
    models = _condition(result, "ModelsReady")
    assert (models["status"], models["reason"]) == ("False", "KServeNotInstalled")
    assert "KServe is not installed" in models["message"]
    assert "spec.inference.mode to deployment" in models["message"]
    assert result["components"]["models"], "each model is listed as not ready"


def _pod(name: str, **status_fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": status_fields}


def test_pod_reasons_name_the_pod_and_the_container() -> None:
    pods = [
        _pod(
            "demo-api-1",
            containerStatuses=[
                {
                    "name": "api",
                    "state": {
                        "waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}
                    },
                }
            ],
        ),
        _pod(
            "demo-worker-1",
            containerStatuses=[
                {
                    "name": "worker",
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                }
            ],
        ),
        _pod(
            "demo-postgres-0",
            conditions=[
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                }
            ],
        ),
        _pod(
            "demo-redis-1",
            containerStatuses=[
                {"name": "redis", "state": {"waiting": {"reason": "ContainerCreating"}}}
            ],
        ),
    ]
    found = health.pod_problems(pods)
    assert [v.reason for v in found] == ["ImagePullBackOff", "CrashLoopBackOff", "Unschedulable"]
    assert "pod demo-api-1 container api: ImagePullBackOff: Back-off pulling" in found[0].message
    assert "pod demo-worker-1 container worker" in found[1].message
    assert "last exit code 1" in found[1].message
    assert "Insufficient cpu" in found[2].message

    result = _compute(_healthy(), facts=status.PassFacts(pods=tuple(pods)))
    degraded = _condition(result, "Degraded")
    assert degraded["reason"] == "ImagePullBackOff"
    assert "demo-worker-1" in degraded["message"]
    assert result["phase"] == "Degraded"


def test_a_pod_is_unschedulable_only_once_it_stays_so() -> None:
    # A fresh install's database pod waits for its claim to bind: not a failure yet.
    pod = _pod(
        "demo-postgres-0",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "pod has unbound immediate PersistentVolumeClaims",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    )
    grace = health.UNSCHEDULABLE_GRACE_SECONDS
    assert health.pod_problems([pod], now=f"2026-01-01T00:00:{grace - 1:02d}Z") == []
    [found] = health.pod_problems([pod], now=f"2026-01-01T00:00:{grace:02d}Z")
    assert found.reason == "Unschedulable"
    assert "unbound immediate PersistentVolumeClaims" in found.message


def test_a_ready_platform_that_loses_a_component_is_degraded_not_provisioning() -> None:
    ready = _compute(_healthy())
    assert ready["phase"] == "Ready"
    lost = _compute(_healthy(**{"demo-redis": _deployment("demo-redis", ready=0)}), current=ready)
    assert lost["phase"] == "Degraded"
    degraded = _condition(lost, "Degraded")
    assert degraded["reason"] == "ComponentLost"
    assert "CacheReady" in degraded["message"]
    # It stays Degraded (not Provisioning) until the component is back.
    again = _compute(_healthy(**{"demo-redis": _deployment("demo-redis", ready=0)}), current=lost)
    assert again["phase"] == "Degraded"
    assert _compute(_healthy(), current=again)["phase"] == "Ready"


def test_a_platform_still_being_provisioned_is_not_degraded() -> None:
    starting = _compute(_healthy(**{"demo-redis": _deployment("demo-redis", ready=0)}))
    assert starting["phase"] == "Provisioning"


def test_a_stalled_redis_or_model_server_is_a_stalled_rollout() -> None:
    stuck = _deployment("demo-redis", ready=0, progressing="False")
    result = _compute(_healthy(**{"demo-redis": stuck}))
    progressing = _condition(result, "Progressing")
    assert progressing["reason"] == "ProgressDeadlineExceeded"
    assert "demo-redis" in progressing["message"]
    assert _condition(result, "Degraded")["status"] == "True"


def test_auto_inference_mode_is_decided_once() -> None:
    p = factories.platform({"inference": {"mode": "auto"}})
    assert reconcile.choose_inference_mode(p, recorded=None, kserve_installed=True) == "kserve"
    kept = reconcile.choose_inference_mode(p, recorded="deployment", kserve_installed=True)
    assert kept == "deployment"
    explicit = factories.platform({"inference": {"mode": "deployment"}})
    assert (
        reconcile.choose_inference_mode(explicit, recorded="kserve", kserve_installed=True)
        == "deployment"
    )


def test_the_recorded_migrated_version_refuses_a_downgrade_after_the_status_is_lost() -> None:
    p = factories.platform({"version": "1.1.0"})
    # A platform re-created over retained data: no status, the Secret's record says 1.2.0.
    decision = reconcile.decide_versions(p, observe.observe([]), {}, recorded="1.2.0")
    assert decision.problem is not None
    assert decision.problem.reason == "DowngradeRefused"
    assert not decision.migrate
    # The record never lowers what the status says.
    newer = reconcile.decide_versions(
        p, observe.observe([]), {"version": {"migrated": "1.1.0"}}, recorded="1.0.0"
    )
    assert newer.migrated == "1.1.0"


def test_a_database_pod_never_ready_past_the_deadline_is_a_stalled_rollout() -> None:
    def running(name: str, since: str, **meta: Any) -> dict[str, Any]:
        return {
            "metadata": {"name": name, **meta},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": since}],
            },
        }

    now = "2026-01-01T01:00:00Z"
    stuck = running("demo-postgres-0", "2026-01-01T00:45:00Z")  # 900 s, deadline 600
    fresh = running("demo-redis-1", "2026-01-01T00:58:20Z")  # 100 s
    job = running("demo-migrate-1-0-0-x", "2026-01-01T00:00:00Z", ownerReferences=[{"kind": "Job"}])
    found = health.pod_problems([stuck, fresh, job], now=now, deadline_seconds=600)
    assert [(v.reason, "demo-postgres-0" in v.message) for v in found] == [
        ("ProgressDeadlineExceeded", True)
    ]
    assert "900 s" in found[0].message
