"""Which version the API and worker should run, and whether the migrations Job should run.

Pure decision logic called by ``reconcile.py`` once per pass, after ``observe``: a new
``spec.version`` first runs the migrations Job for that version; the API and worker move to
it only after the Job completed. A failed (or timed-out) Job leaves the old version serving
and is not recreated for the same Job name, so a broken migration never loops hot: the next
attempt needs a spec change (a new image, a new version) or a human deleting the Job.
"""

from __future__ import annotations

import dataclasses

from journal_operator import observe, spec


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A condition-shaped outcome: status, CamelCase reason, human message."""

    status: str
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Decision:
    """What this reconcile pass does about versions.

    Attributes:
        serve: version the API and worker Deployments are built at; None = do not create them
            yet (first install, schema not migrated).
        migrate: apply the migrations Job for ``spec.version``.
        migrated: the schema version to record in ``status.version.migrated``.
        migrated_condition: the ``Migrated`` condition.
        problem: the ``Degraded`` reason and message, or None.
    """

    serve: str | None
    migrate: bool
    migrated: str | None
    migrated_condition: Verdict
    problem: Verdict | None


def is_downgrade(desired: str, migrated: str) -> bool:
    """Whether ``desired`` is an older semantic version than ``migrated`` (unknown: no)."""
    try:
        return spec.version_key(desired) < spec.version_key(migrated)
    except ValueError:
        return False


def decide(
    *, desired: str, running: str | None, migrated: str | None, job: observe.JobFact | None
) -> Decision:
    """Decide the versions for this pass.

    Args:
        desired: ``spec.version``.
        running: the version the API Deployment currently runs (observed, else last status).
        migrated: the schema version recorded in ``status.version.migrated``.
        job: the migrations Job for ``desired`` as observed, or None when absent.

    Returns:
        The decision; see ``Decision``.
    """
    if migrated is not None and is_downgrade(desired, migrated):
        message = (
            f"spec.version {desired} is older than the migrated schema {migrated}; "
            f"downgrades are refused. Set spec.version to {migrated} or newer."
        )
        refused = Verdict("False", "DowngradeRefused", message)
        return Decision(
            serve=running,
            migrate=False,
            migrated=migrated,
            migrated_condition=refused,
            problem=refused,
        )
    if migrated == desired:
        return Decision(
            serve=desired,
            migrate=False,
            migrated=migrated,
            migrated_condition=_at(desired),
            problem=None,
        )
    if job is None:
        return Decision(
            serve=running,
            migrate=True,
            migrated=migrated,
            migrated_condition=Verdict(
                "False", "MigrationPending", f"starting the migrations Job for {desired}"
            ),
            problem=None,
        )
    if job.succeeded:
        return Decision(
            serve=desired,
            migrate=False,
            migrated=desired,
            migrated_condition=_at(desired),
            problem=None,
        )
    if job.failed:
        serving = f"; still serving {running}" if running else ""
        message = (
            f"migrations Job {job.name} for {desired} failed ({job.reason}: "
            f"{job.message or 'no message'}){serving}. It is not re-run by itself: fix the "
            f"cause (e.g. spec.images.migrations), then `kubectl delete job {job.name}` to "
            f"retry, or set a newer spec.version."
        )
        failed = Verdict("False", "MigrationFailed", message)
        return Decision(
            serve=running,
            migrate=False,
            migrated=migrated,
            migrated_condition=failed,
            problem=failed,
        )
    return Decision(
        serve=running,
        migrate=True,
        migrated=migrated,
        migrated_condition=Verdict(
            "False", "Migrating", f"migrations Job {job.name} is running for {desired}"
        ),
        problem=None,
    )


def _at(version: str) -> Verdict:
    return Verdict("True", "SchemaMigrated", f"schema migrated to {version}")


def progress(
    *,
    decision: Decision,
    desired: str,
    api: observe.Workload | None,
    worker: observe.Workload | None,
) -> Verdict:
    """The ``Progressing`` condition: is a change still rolling out, or did it stall?

    A Deployment that exceeded its ``progressDeadlineSeconds`` reports
    ``Progressing=False/ProgressDeadlineExceeded``; we pass that through, naming the Deployment.
    """
    for workload in (api, worker):
        if workload is None:
            continue
        cond = workload.conditions.get("Progressing")
        if cond is not None and cond.status == "False":
            return Verdict(
                "False",
                cond.reason or "ProgressDeadlineExceeded",
                f"Deployment {workload.name}: {cond.message}",
            )
    if decision.migrate:
        return Verdict("True", "Migrating", decision.migrated_condition.message)
    if decision.problem is not None:
        return Verdict("False", decision.problem.reason, decision.problem.message)
    for workload in (api, worker):
        if workload is not None and not workload.rolled_out:
            return Verdict(
                "True",
                "RollingOut",
                f"Deployment {workload.name}: {workload.updated}/{workload.replicas} "
                f"updated, {workload.available} available",
            )
    if decision.serve != desired or api is None:
        return Verdict("True", "Provisioning", f"bringing the platform to version {desired}")
    return Verdict("False", "RolloutComplete", f"version {desired} is rolled out")


def stalled(verdict: Verdict) -> bool:
    """Whether a ``progress()`` verdict is a stalled rollout (a Degraded cause)."""
    return verdict.status == "False" and verdict.reason == "ProgressDeadlineExceeded"
