"""The worker: a Deployment running `python -m journal_api worker`.

It claims background jobs from the database's outbox (`FOR UPDATE SKIP LOCKED`); it serves
no traffic, so it has no Service, but it answers `/healthz` (its loop is alive) and
`/metrics` on its health port, which the liveness probe uses. Pure builder called by `plan`.
"""

from __future__ import annotations

from journal_operator import naming, spec
from journal_operator.builders import api, pods
from journal_operator.manifests import Manifest

COMPONENT = naming.Component.WORKER
# The worker finishes (or releases) the batch in hand when asked to stop.
TERMINATION_GRACE_SECONDS = 60
# `JOURNAL_API_WORKER_HEALTH_PORT`'s default in the API's settings.
HEALTH_PORT = 8001


def worker_deployment(p: spec.Platform, *, image: str, version: str, config_hash: str) -> Manifest:
    """Deployment `<platform>-worker`, rolled like the API and with the same settings."""
    container = pods.app_container(
        p, name="worker", image=image, args=["worker"], resources_spec=p.spec.worker.resources
    )
    container["ports"] = [{"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}]
    # Liveness only: a stalled loop should be restarted; there is no traffic to gate on.
    container["livenessProbe"] = {
        "httpGet": {"path": "/healthz", "port": "health"},
        "periodSeconds": 10,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
    pod_spec = pods.app_pod_spec(p, container) | {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": naming.child_meta(p, COMPONENT, naming.worker_name(p), version=version),
        "spec": {
            "replicas": p.spec.worker.replicas,
            "selector": {"matchLabels": naming.selector(p, COMPONENT)},
            "strategy": api.rolling_update(p),
            "progressDeadlineSeconds": p.spec.rollout.progress_deadline_seconds,
            "revisionHistoryLimit": 5,
            "template": {
                "metadata": {
                    "labels": naming.labels(p, COMPONENT, version=version),
                    "annotations": {naming.SPEC_HASH_ANNOTATION: config_hash},
                },
                "spec": pod_spec,
            },
        },
    }
