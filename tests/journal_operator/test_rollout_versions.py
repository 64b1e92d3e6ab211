"""Version decisions for graceful rollouts: migrations first, refused downgrades, no retry loops.

Aspects under test:
- a new version runs its migrations Job before the API moves;
- a failed Job keeps the old version serving and is never re-run for the same Job;
- versions below the migrated schema are refused with a message that says what to do;
- a stalled Deployment surfaces as Progressing=False with the Deployment's reason.
"""

from __future__ import annotations

import dataclasses

import pytest
from journal_operator import health, naming, observe, rollout, spec

from tests.journal_operator import factories

RUNNING_JOB = observe.JobFact("demo-migrate-1-1-0", "1.1.0", 1, False, False, "", "")
DONE_JOB = observe.JobFact("demo-migrate-1-1-0", "1.1.0", 0, True, False, "", "")
FAILED_JOB = observe.JobFact(
    "demo-migrate-1-1-0",
    "1.1.0",
    0,
    False,
    True,
    "BackoffLimitExceeded",
    "Job has reached the specified backoff limit",
)


def _workload(**overrides: object) -> observe.Workload:
    fields: dict[str, object] = dict(
        kind="Deployment",
        name="demo-api",
        generation=2,
        observed_generation=2,
        replicas=2,
        current=2,
        ready=2,
        available=2,
        updated=2,
        images=("api:1.0.0",),
        version="1.0.0",
        conditions={},
    )
    fields.update(overrides)
    return observe.Workload(**fields)  # type: ignore[arg-type]


def test_first_install_waits_for_migrations_before_creating_the_api() -> None:
    decision = rollout.decide(desired="1.0.0", running=None, migrated=None, job=None)
    assert decision.migrate
    assert decision.serve is None
    assert decision.migrated_condition.reason == "MigrationPending"


def test_new_version_keeps_serving_old_version_while_its_job_runs() -> None:
    decision = rollout.decide(desired="1.1.0", running="1.0.0", migrated="1.0.0", job=RUNNING_JOB)
    assert decision.serve == "1.0.0"
    assert decision.migrate
    assert decision.problem is None


def test_completed_job_moves_api_to_new_version_and_records_schema() -> None:
    decision = rollout.decide(desired="1.1.0", running="1.0.0", migrated="1.0.0", job=DONE_JOB)
    assert decision.serve == "1.1.0"
    assert decision.migrated == "1.1.0"
    assert not decision.migrate
    assert decision.migrated_condition.status == "True"


def test_failed_job_keeps_old_version_and_is_not_rerun() -> None:
    decision = rollout.decide(desired="1.1.0", running="1.0.0", migrated="1.0.0", job=FAILED_JOB)
    assert decision.serve == "1.0.0"
    assert not decision.migrate
    assert decision.problem is not None
    assert decision.problem.reason == "MigrationFailed"
    assert "BackoffLimitExceeded" in decision.problem.message
    assert "still serving 1.0.0" in decision.problem.message
    # The one way to retry the same version must be spelled out for the user.
    assert f"kubectl delete job {FAILED_JOB.name}" in decision.problem.message


def test_migrated_version_needs_no_job_even_when_the_job_is_gone() -> None:
    decision = rollout.decide(desired="1.1.0", running="1.1.0", migrated="1.1.0", job=None)
    assert not decision.migrate
    assert decision.serve == "1.1.0"


def test_downgrade_below_migrated_schema_is_refused_with_instructions() -> None:
    decision = rollout.decide(desired="1.0.0", running="1.1.0", migrated="1.1.0", job=None)
    assert decision.serve == "1.1.0"
    assert not decision.migrate
    assert decision.problem is not None
    assert decision.problem.reason == "DowngradeRefused"
    assert "1.1.0 or newer" in decision.problem.message


@pytest.mark.parametrize(
    ("older", "newer"),
    [("1.0.0", "1.0.1"), ("1.9.0", "1.10.0"), ("1.2.0-rc.1", "1.2.0"), ("v1.0.0", "2.0.0")],
)
def test_versions_order_numerically_with_prereleases_first(older: str, newer: str) -> None:
    assert rollout.is_downgrade(older, newer)
    assert not rollout.is_downgrade(newer, older)


def test_unparseable_versions_are_never_called_downgrades() -> None:
    assert not rollout.is_downgrade("latest", "1.0.0")


def test_stalled_deployment_reports_progressing_false_with_its_reason() -> None:
    decision = rollout.decide(desired="1.1.0", running="1.1.0", migrated="1.1.0", job=None)
    stuck = _workload(
        conditions={
            "Progressing": observe.ConditionFact(
                "False",
                "ProgressDeadlineExceeded",
                'ReplicaSet "demo-api-x" has timed out progressing.',
            )
        }
    )
    verdict = rollout.progress(decision=decision, desired="1.1.0", api=stuck, worker=None)
    assert verdict.status == "False"
    assert verdict.reason == "ProgressDeadlineExceeded"
    assert "demo-api" in verdict.message
    assert rollout.stalled(verdict)


def test_rolling_deployment_reports_progressing_true() -> None:
    decision = rollout.decide(desired="1.1.0", running="1.1.0", migrated="1.1.0", job=None)
    rolling = _workload(updated=1, available=2)
    verdict = rollout.progress(decision=decision, desired="1.1.0", api=rolling, worker=None)
    assert (verdict.status, verdict.reason) == ("True", "RollingOut")


def test_finished_rollout_reports_progressing_false_complete() -> None:
    decision = rollout.decide(desired="1.0.0", running="1.0.0", migrated="1.0.0", job=None)
    verdict = rollout.progress(
        decision=decision, desired="1.0.0", api=_workload(), worker=_workload(name="demo-worker")
    )
    assert (verdict.status, verdict.reason) == ("False", "RolloutComplete")
    assert not rollout.stalled(verdict)


# Releases: an image edit is gated on its migrations like a version bump.
OLD = spec.ResolvedImages("api:1.0.0", "api:1.0.0", "api:1.0.0", "inference:1.0.0")
NEW_API = spec.ResolvedImages("api:1.0.0-b", "api:1.0.0-b", "api:1.0.0-b", "inference:1.0.0")


def test_new_api_image_of_the_same_version_keeps_the_old_image_until_its_migrations_ran() -> None:
    decision = rollout.decide(
        desired="1.0.0",
        running="1.0.0",
        migrated="1.0.0",
        migrated_image=OLD.migrations,
        images=NEW_API,
        running_images=OLD,
        job=None,
    )
    assert decision.migrate
    assert decision.images == OLD
    pending = observe.JobFact("demo-migrate-1-0-0-x", "1.0.0", 1, False, False, "", "")
    decision = rollout.decide(
        desired="1.0.0",
        running="1.0.0",
        migrated="1.0.0",
        migrated_image=OLD.migrations,
        images=NEW_API,
        running_images=OLD,
        job=pending,
    )
    assert decision.images == OLD
    failed = dataclasses.replace(pending, active=0, failed=True, reason="BackoffLimitExceeded")
    decision = rollout.decide(
        desired="1.0.0",
        running="1.0.0",
        migrated="1.0.0",
        migrated_image=OLD.migrations,
        images=NEW_API,
        running_images=OLD,
        job=failed,
    )
    assert decision.images == OLD
    assert decision.problem is not None
    done = dataclasses.replace(pending, active=0, succeeded=True)
    decision = rollout.decide(
        desired="1.0.0",
        running="1.0.0",
        migrated="1.0.0",
        migrated_image=OLD.migrations,
        images=NEW_API,
        running_images=OLD,
        job=done,
    )
    assert decision.images == NEW_API
    assert decision.migrated_image == NEW_API.migrations


def test_an_api_image_with_an_already_migrated_migrations_image_rolls_at_once() -> None:
    explicit = dataclasses.replace(NEW_API, migrations=OLD.migrations)
    decision = rollout.decide(
        desired="1.0.0",
        running="1.0.0",
        migrated="1.0.0",
        migrated_image=OLD.migrations,
        images=explicit,
        running_images=OLD,
        job=None,
    )
    assert not decision.migrate
    assert decision.images == explicit


def test_migrations_job_name_changes_with_the_migrations_image() -> None:
    default = factories.platform({"version": "1.0.0"})
    edited = factories.platform({"version": "1.0.0", "images": {"api": "x/api:1.0.0-b"}})
    pinned = factories.platform(
        {
            "version": "1.0.0",
            "images": {
                "api": "x/api:1.0.0-b",
                "migrations": default.spec.images.resolve("1.0.0").api,
            },
        }
    )
    assert naming.migrations_job_name(default, "1.0.0") == "demo-migrate-1-0-0"
    assert naming.migrations_job_name(edited, "1.0.0").startswith("demo-migrate-1-0-0-")
    assert naming.migrations_job_name(pinned, "1.0.0") == "demo-migrate-1-0-0"


def test_no_migrations_job_before_the_database_accepts_connections() -> None:
    decision = rollout.decide(
        desired="1.0.0", running=None, migrated=None, job=None, database_ready=False
    )
    assert not decision.migrate
    assert decision.problem is None
    assert decision.migrated_condition.reason == "MigrationPending"
    assert "database" in decision.migrated_condition.message


def test_a_failed_job_removed_by_its_ttl_is_not_rerun_and_status_says_how() -> None:
    decision = rollout.decide(
        desired="1.1.0",
        running="1.0.0",
        migrated="1.0.0",
        job=None,
        job_name="demo-migrate-1-1-0",
        lost_failure="BackoffLimitExceeded: Job has reached the specified backoff limit",
    )
    assert not decision.migrate
    assert decision.serve == "1.0.0"
    assert decision.problem is not None
    assert decision.problem.reason == "MigrationFailed"
    assert "removed after its TTL" in decision.problem.message
    assert "kubectl patch journalplatform" in decision.problem.message


def test_status_keeps_a_failure_whose_job_is_gone() -> None:
    p = factories.platform({"version": "1.1.0"})
    name = naming.migrations_job_name(p, "1.1.0")
    decision = rollout.decide(
        desired="1.1.0", running="1.0.0", migrated="1.0.0", job=None, lost_failure="x"
    )
    previous = {"job": name, "state": "Failed", "reason": "BackoffLimitExceeded", "message": "m"}
    facts = health.migrations(p, observe.observe([]), decision, previous=previous)
    assert facts["state"] == "Failed"
    assert facts["reason"] == "BackoffLimitExceeded"


def test_a_surge_pod_that_never_gets_ready_is_still_rolling_out() -> None:
    # One desired replica: the old pod serves (1 available), the new one never gets ready.
    stuck = _workload(replicas=1, current=2, updated=1, available=1, ready=1)
    assert not stuck.rolled_out
    decision = rollout.decide(desired="1.1.0", running="1.1.0", migrated="1.1.0", job=None)
    verdict = rollout.progress(decision=decision, desired="1.1.0", api=stuck, worker=None)
    assert (verdict.status, verdict.reason) == ("True", "RollingOut")
