"""Which version the API and worker should run, and whether the migrations Job should run.

Pure decision logic called by ``reconcile.py`` once per pass, after ``observe``: a new
``spec.version`` first runs the migrations Job for that version; the API and worker move to
it only after the Job completed. A failed (or timed-out) Job leaves the old version serving
and is not recreated for the same Job name, so a broken migration never loops hot: the next
attempt needs a spec change (a new image, a new version) or a human deleting the Job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

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
        migrate: apply the migrations Job for ``spec.version`` (created once, never re-applied).
        migrated: the schema version to record in ``status.version.migrated``.
        migrated_condition: the ``Migrated`` condition.
        problem: the ``Degraded`` reason and message, or None.
        images: the API and worker images to serve with ``serve``: the spec's once the
            migrations of the spec's release succeeded, the running ones until then; None
            means resolve them from ``serve`` (a status written before images were recorded).
        migrated_image: the migrations image whose Job brought the schema to ``migrated``.
    """

    serve: str | None
    migrate: bool
    migrated: str | None
    migrated_condition: Verdict
    problem: Verdict | None
    images: spec.ResolvedImages | None = None
    migrated_image: str | None = None


def is_downgrade(desired: str, migrated: str) -> bool:
    """Whether ``desired`` is an older semantic version than ``migrated`` (unknown: no)."""
    try:
        return spec.version_key(desired) < spec.version_key(migrated)
    except ValueError:
        return False


def decide(
    *,
    desired: str,
    running: str | None,
    migrated: str | None,
    job: observe.JobFact | None,
    images: spec.ResolvedImages | None = None,
    running_images: spec.ResolvedImages | None = None,
    migrated_image: str | None = None,
    database_ready: bool = True,
    job_name: str | None = None,
    lost_failure: str | None = None,
) -> Decision:
    """Decide the versions for this pass.

    A release is ``spec.version`` with the images the spec resolves for it. The API and
    worker images change only together with a release whose migrations succeeded: an edit
    of ``spec.images.api`` that also changes the migrations image (the default, which
    follows the API image) runs a new migrations Job first, whatever the version.

    Args:
        desired: ``spec.version``.
        running: the version the API Deployment currently runs (observed, else last status).
        migrated: the schema version recorded in ``status.version.migrated``.
        job: the migrations Job for the desired release as observed, or None when absent.
        images: the spec's images for ``desired`` (None: only versions are compared).
        running_images: the images served now (recorded in status, else observed).
        migrated_image: the migrations image recorded with ``migrated`` (None: recorded by
            an older operator, taken as the spec's).
        database_ready: whether the database accepts connections; the Job is not created
            before, so a slow volume or image pull is not a failed migration.
        job_name: the name of the desired release's Job (for messages).
        lost_failure: the message of a failure recorded in status for ``job_name`` when
            the Job itself is gone (its TTL removed it): still failed, not silently re-run.

    Returns:
        The decision; see ``Decision``.
    """
    name = job_name or (job.name if job is not None else "migrations Job")

    def hold(condition: Verdict, *, migrate: bool = False, problem: bool = False) -> Decision:
        # Keep serving what runs now; the schema record is unchanged.
        return Decision(
            serve=running,
            migrate=migrate,
            migrated=migrated,
            migrated_condition=condition,
            problem=condition if problem else None,
            images=running_images,
            migrated_image=migrated_image,
        )

    def promote() -> Decision:
        # The desired release's migrations are in: serve it and record its schema.
        return Decision(
            serve=desired,
            migrate=False,
            migrated=desired,
            migrated_condition=_at(desired),
            problem=None,
            images=images,
            migrated_image=images.migrations if images is not None else migrated_image,
        )

    if migrated is not None and is_downgrade(desired, migrated):
        message = (
            f"spec.version {desired} is older than the migrated schema {migrated}; "
            f"downgrades are refused. Set spec.version to {migrated} or newer."
        )
        return hold(Verdict("False", "DowngradeRefused", message), problem=True)
    same_image = migrated_image is None or images is None or migrated_image == images.migrations
    if migrated == desired and same_image:
        return promote()
    if job is None and lost_failure is not None:
        message = (
            f"migrations Job {name} for {desired} failed ({lost_failure}) and was removed "
            f"after its TTL; it is not re-run by itself. Fix the cause, then set a newer "
            f"spec.version or another spec.images.migrations (a new Job), or clear the record "
            f"with `kubectl patch journalplatform <name> --subresource=status --type=merge "
            f'-p \'{{"status":{{"components":{{"migrations":null}}}}}}\'` to run it again.'
        )
        return hold(Verdict("False", "MigrationFailed", message), problem=True)
    if job is None:
        if not database_ready:
            return hold(
                Verdict(
                    "False",
                    "MigrationPending",
                    f"waiting for the database to accept connections before starting {name}",
                )
            )
        return hold(
            Verdict("False", "MigrationPending", f"starting the migrations Job for {desired}"),
            migrate=True,
        )
    if job.succeeded:
        return promote()
    if job.failed:
        serving = f"; still serving {running}" if running else ""
        message = (
            f"migrations Job {job.name} for {desired} failed ({job.reason}: "
            f"{job.message or 'no message'}){serving}. It is not re-run by itself: fix the "
            f"cause (e.g. spec.images.migrations, which gets a new Job), or "
            f"`kubectl delete job {job.name}` to retry, or set a newer spec.version."
        )
        return hold(Verdict("False", "MigrationFailed", message), problem=True)
    return hold(
        Verdict("False", "Migrating", f"migrations Job {job.name} is running for {desired}"),
        migrate=True,
    )


def _at(version: str) -> Verdict:
    return Verdict("True", "SchemaMigrated", f"schema migrated to {version}")


def progress(
    *,
    decision: Decision,
    desired: str,
    api: observe.Workload | None,
    worker: observe.Workload | None,
    others: Sequence[observe.Workload | None] = (),
) -> Verdict:
    """The ``Progressing`` condition: is a change still rolling out, or did it stall?

    A Deployment that exceeded its ``progressDeadlineSeconds`` reports
    ``Progressing=False/ProgressDeadlineExceeded``; we pass that through, naming the Deployment.
    ``others`` are the platform's other Deployments (Redis, model servers): a stall of
    theirs is reported the same way.
    """
    for workload in (api, worker, *others):
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
