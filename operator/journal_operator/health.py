"""What each component's observed state means: one condition and a few printable facts.

Pure functions called by ``status.compute`` with the typed platform and the ``Observed``
snapshot. A component is ready when its workload has its desired replicas ready (the
StatefulSet, the Deployments) or its InferenceServices report Ready for their generation.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from journal_operator import cnpg_status, naming, observe, rollout, spec


@dataclasses.dataclass(frozen=True)
class Health:
    """A component's condition verdict plus its ``status.components.<x>`` facts."""

    verdict: rollout.Verdict
    facts: dict[str, Any]


def workload_facts(w: observe.Workload | None, *, desired: int | None = None) -> dict[str, Any]:
    """``{ready, replicas, readyReplicas, updatedReplicas, summary, image}`` of a workload."""
    if w is None:
        return {
            "ready": False,
            "replicas": 0,
            "readyReplicas": 0,
            "updatedReplicas": 0,
            "summary": "0/0",
        }
    want = w.replicas if desired is None else desired
    facts: dict[str, Any] = {
        "ready": w.available >= want and w.ready >= want,
        "replicas": w.current,
        "readyReplicas": w.ready,
        "updatedReplicas": w.updated,
        "summary": f"{w.ready}/{want}",
    }
    if w.images:
        facts["image"] = w.images[0]
    return facts


def database(p: spec.Platform, observed: observe.Observed) -> Health:
    """``DatabaseReady``: the PostgreSQL StatefulSet has its pod ready (or it is external).

    With ``cnpg`` it follows the CloudNativePG Cluster's own status (``cnpg_status``).
    """
    if p.spec.database.mode == "cnpg":
        return Health(*cnpg_status.database(p, observed))
    if p.spec.database.mode == "external" and p.spec.database.external is not None:
        secret = p.spec.database.external.secret_ref.name
        return Health(
            rollout.Verdict(
                "True", "ExternalDatabase", f"using the external database from Secret {secret}"
            ),
            {"ready": True, "summary": "external"},
        )
    name = naming.database_name(p)
    sts = observed.workload("StatefulSet", name)
    facts = workload_facts(sts)
    facts["host"] = naming.service_host(p, name)
    if sts is None:
        return Health(
            rollout.Verdict("False", "StatefulSetMissing", f"creating StatefulSet {name}"), facts
        )
    if facts["ready"]:
        return Health(
            rollout.Verdict(
                "True", "DatabaseReady", f"StatefulSet {name}: {sts.ready}/{sts.replicas} ready"
            ),
            facts,
        )
    return Health(
        rollout.Verdict(
            "False", "DatabaseStarting", f"StatefulSet {name}: {sts.ready}/{sts.replicas} ready"
        ),
        facts,
    )


def cache(p: spec.Platform, observed: observe.Observed) -> Health:
    """``CacheReady``: the Redis Deployment is available (or external, or disabled)."""
    mode = p.spec.cache.mode
    if mode == "disabled":
        return Health(
            rollout.Verdict("True", "CacheDisabled", "running without Redis"),
            {"ready": True, "summary": "disabled"},
        )
    if mode == "external" and p.spec.cache.external is not None:
        secret = p.spec.cache.external.secret_ref.name
        return Health(
            rollout.Verdict(
                "True", "ExternalCache", f"using the external Redis from Secret {secret}"
            ),
            {"ready": True, "summary": "external"},
        )
    name = naming.cache_name(p)
    return _deployment_health(
        observed, name, ready_reason="CacheReady", host=naming.service_host(p, name)
    )


def api(
    p: spec.Platform, observed: observe.Observed, decision: rollout.Decision
) -> tuple[Health, dict[str, Any]]:
    """``ApiReady``: API and worker Deployments have their desired replicas available.

    Returns:
        The API's health (with the verdict covering both) and the worker's facts.
    """
    api_name, worker_name = naming.api_name(p), naming.worker_name(p)
    api_w = observed.workload("Deployment", api_name)
    worker_w = observed.workload("Deployment", worker_name)
    api_facts, worker_facts = workload_facts(api_w), workload_facts(worker_w)
    if decision.serve is None:
        verdict = rollout.Verdict(
            "False", "WaitingForMigrations", "the API starts once the first migration has completed"
        )
    elif api_w is None or worker_w is None:
        missing = api_name if api_w is None else worker_name
        verdict = rollout.Verdict("False", "DeploymentMissing", f"creating Deployment {missing}")
    elif api_facts["ready"] and worker_facts["ready"]:
        verdict = rollout.Verdict(
            "True",
            "DeploymentsAvailable",
            f"api {api_w.available}/{api_w.replicas} available, worker "
            f"{worker_w.available}/{worker_w.replicas} available",
        )
    else:
        verdict = rollout.Verdict(
            "False",
            "DeploymentUnavailable",
            f"api {api_w.available}/{api_w.replicas} available, worker "
            f"{worker_w.available}/{worker_w.replicas} available",
        )
    return Health(verdict, api_facts), worker_facts


KSERVE_NOT_INSTALLED = (
    "spec.inference.mode is kserve, but KServe is not installed (the API server does not "
    "serve serving.kserve.io/v1beta1 InferenceService): install KServe, or set "
    "spec.inference.mode to deployment (or auto) to run the model servers as Deployments"
)


def models(
    p: spec.Platform,
    observed: observe.Observed,
    *,
    inference_mode: str | None,
    kserve_missing: bool = False,
) -> tuple[rollout.Verdict, list[dict[str, Any]]]:
    """``ModelsReady`` and one ``status.components.models[]`` entry per model."""
    if not p.spec.inference.models:
        return rollout.Verdict("True", "NoModels", "no models configured"), []
    if kserve_missing:
        missing = [
            {"name": m.name, "ready": False, "message": "KServe is not installed"}
            for m in p.spec.inference.models
        ]
        return rollout.Verdict("False", "KServeNotInstalled", KSERVE_NOT_INSTALLED), missing
    entries: list[dict[str, Any]] = []
    not_ready: list[str] = []
    for model in p.spec.inference.models:
        name = naming.model_name(p, model.name)
        if inference_mode == "kserve":
            body = observed.body("InferenceService", name)
            fact = (
                observe.inference_service_facts(body)
                if body is not None
                else observe.ModelFact(
                    name,
                    False,
                    "InferenceServiceMissing",
                    f"creating InferenceService {name}",
                    None,
                )
            )
            entry: dict[str, Any] = {
                "name": model.name,
                "ready": fact.ready,
                "url": naming.model_url(p, model.name),
            }
            if fact.message:
                entry["message"] = fact.message
        else:
            w = observed.workload("Deployment", naming.model_service_name(p, model.name))
            facts = workload_facts(w)
            entry = {
                "name": model.name,
                "ready": facts["ready"],
                "url": naming.model_url(p, model.name),
                "replicas": facts["replicas"],
                "readyReplicas": facts["readyReplicas"],
            }
            if "image" in facts:
                entry["image"] = facts["image"]
        entries.append(entry)
        if not entry["ready"]:
            not_ready.append(model.name)
    if not_ready:
        return rollout.Verdict(
            "False",
            "ModelsNotReady",
            f"not ready: {', '.join(not_ready)} ({len(entries) - len(not_ready)}"
            f"/{len(entries)} ready)",
        ), entries
    return rollout.Verdict("True", "ModelsReady", f"{len(entries)}/{len(entries)} ready"), entries


def migrations(
    p: spec.Platform,
    observed: observe.Observed,
    decision: rollout.Decision,
    *,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``status.components.migrations``: the current release's Job and its state.

    A failure recorded in ``previous`` (the stored status) for the same Job stays recorded
    when its TTL removed the Job: the record is what keeps it from being re-run.
    """
    name = naming.migrations_job_name(p, p.spec.version)
    job = observed.job(name)
    facts: dict[str, Any] = {"version": p.spec.version, "job": name}
    before = previous or {}
    if (
        decision.migrated == p.spec.version
        and decision.migrate is False
        and (decision.migrated_condition.status == "True")
    ):
        facts["state"] = "Succeeded"
    elif job is None and before.get("job") == name and before.get("state") == "Failed":
        facts.update(
            state="Failed", reason=before.get("reason") or "", message=before.get("message") or ""
        )
    elif job is None:
        facts["state"] = "Pending"
    elif job.failed:
        facts.update(state="Failed", reason=job.reason, message=job.message)
    elif job.succeeded:
        facts["state"] = "Succeeded"
    else:
        facts["state"] = "Running"
    return facts


def _deployment_health(
    observed: observe.Observed, name: str, *, ready_reason: str, host: str
) -> Health:
    w = observed.workload("Deployment", name)
    facts = workload_facts(w)
    facts["host"] = host
    if w is None:
        return Health(
            rollout.Verdict("False", "DeploymentMissing", f"creating Deployment {name}"), facts
        )
    message = f"Deployment {name}: {w.available}/{w.replicas} available"
    if facts["ready"]:
        return Health(rollout.Verdict("True", ready_reason, message), facts)
    return Health(rollout.Verdict("False", "DeploymentUnavailable", message), facts)


# Waiting reasons of a container that will not fix themselves (a slow pull is
# ContainerCreating, not one of these).
STUCK_WAITING = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)

# A pod unschedulable for less than this is still being placed (its claim binding, a node
# joining); the operator's resync (20 s) sees it again after the grace runs out.
UNSCHEDULABLE_GRACE_SECONDS = 30


def pod_problems(
    pods: Iterable[Mapping[str, Any]],
    *,
    now: str | None = None,
    deadline_seconds: int | None = None,
) -> list[rollout.Verdict]:
    """Why pods do not run, naming the pod and container: what ``kubectl describe`` shows.

    Pods unschedulable for ``UNSCHEDULABLE_GRACE_SECONDS`` (the scheduler's message:
    resources, taints, volumes; with no ``now``, at once) and containers waiting in
    ``ImagePullBackOff``, ``ErrImagePull``, ``CrashLoopBackOff`` and the like (with the
    last exit code of a crashing one). With ``now`` and
    ``deadline_seconds``, a running pod of a Deployment or StatefulSet (PostgreSQL has no
    progress deadline of its own) that has not been ready for longer than the deadline is a
    stalled rollout too. Each is a ``Degraded`` cause.
    """
    found: list[rollout.Verdict] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        name = str(meta.get("name"))
        status = pod.get("status") or {}
        stalled = _stalled_for(pod, now=now, deadline_seconds=deadline_seconds)
        if stalled is not None:
            found.append(
                rollout.Verdict(
                    "True",
                    "ProgressDeadlineExceeded",
                    f"pod {name} has not been ready for {stalled} s (progressDeadlineSeconds "
                    f"{deadline_seconds})",
                )
            )
        for cond in status.get("conditions") or []:
            if (
                cond.get("type") == "PodScheduled"
                and cond.get("status") == "False"
                and cond.get("reason") == "Unschedulable"
                and _past_grace(cond, now=now)
            ):
                found.append(
                    rollout.Verdict(
                        "True",
                        "Unschedulable",
                        f"pod {name} cannot be scheduled: {cond.get('message') or ''}".strip(),
                    )
                )
        for key in ("initContainerStatuses", "containerStatuses"):
            for container in status.get(key) or []:
                waiting = (container.get("state") or {}).get("waiting") or {}
                reason = str(waiting.get("reason") or "")
                if reason not in STUCK_WAITING:
                    continue
                message = f"pod {name} container {container.get('name')}: {reason}"
                if waiting.get("message"):
                    message += f": {waiting['message']}"
                last = (container.get("lastState") or {}).get("terminated") or {}
                if reason == "CrashLoopBackOff" and "exitCode" in last:
                    message += f" (last exit code {last['exitCode']}"
                    message += f", {last['reason']})" if last.get("reason") else ")"
                found.append(rollout.Verdict("True", reason, message))
    return found


def _stalled_for(
    pod: Mapping[str, Any], *, now: str | None, deadline_seconds: int | None
) -> int | None:
    # Seconds a long-running pod has been running without being ready, when past the deadline.
    if now is None or deadline_seconds is None:
        return None
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    if any(o.get("kind") == "Job" for o in owners):
        return None  # a Job's pod is never "ready"; its own deadline covers it
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return None
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") == "True":
        return None
    since = ready.get("lastTransitionTime") or status.get("startTime")
    if not since:
        return None
    elapsed = int((_parse_time(now) - _parse_time(str(since))).total_seconds())
    return elapsed if elapsed > deadline_seconds else None


def _past_grace(condition: Mapping[str, Any], *, now: str | None) -> bool:
    # A fresh install's pods are briefly unschedulable as a matter of course (a claim not
    # bound yet, nodes still registering): only one that stays so is a problem to report.
    since = condition.get("lastTransitionTime")
    if now is None or not since:
        return True
    elapsed = (_parse_time(now) - _parse_time(str(since))).total_seconds()
    return elapsed >= UNSCHEDULABLE_GRACE_SECONDS


def _parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
