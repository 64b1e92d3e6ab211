"""The migrations Job of one version: `python -m journal_api migrate`.

The reconcile applies it for a new `spec.version` and rolls the API and the worker only
after it succeeded. Each version has its own Job name, so a finished Job is never
mutated (a Job's pod template is immutable) and a failed one is not retried in a loop:
its `backoffLimit` retries cover a database that is still starting, and
`activeDeadlineSeconds` is `spec.rollout.migrationTimeoutSeconds`.
"""

from __future__ import annotations

from journal_operator import naming, spec
from journal_operator.builders import pods
from journal_operator.manifests import Manifest

COMPONENT = naming.Component.MIGRATIONS
BACKOFF_LIMIT = 3
# Long enough to read the outcome (status and logs), short enough not to pile up Jobs.
TTL_SECONDS_AFTER_FINISHED = 24 * 3600


def migrations_job(p: spec.Platform, *, image: str, version: str) -> Manifest:
    """Job `<platform>-migrate-<version>` running the migrations of `version`.

    Args:
        p: The platform.
        image: The migrations image of `version`.
        version: The version whose schema the Job migrates to (labels and annotation).
    """
    container = pods.app_container(
        p, name="migrate", image=image, args=["migrate"], resources_spec=p.spec.api.resources
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": naming.child_meta(
            p,
            COMPONENT,
            naming.migrations_job_name(p, version),
            version=version,
            annotations={naming.VERSION_ANNOTATION: version},
        ),
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": p.spec.rollout.migration_timeout_seconds,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": {
                "metadata": {"labels": naming.labels(p, COMPONENT, version=version)},
                "spec": pods.app_pod_spec(p, container) | {"restartPolicy": "Never"},
            },
        },
    }
