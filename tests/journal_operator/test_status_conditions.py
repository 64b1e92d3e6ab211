"""The status contract: condition timestamps, phase precedence, Ready, and Events.

Aspects under test:
- lastTransitionTime changes only when a condition's status flips;
- the phase follows lifecycle > failure > activity > Ready precedence;
- Ready is True only when every component is ready and nothing is degraded;
- an unchanged status compares equal (so it is not re-patched) and posts no Events.
"""

from __future__ import annotations

from journal_operator import status
from journal_operator.status import Condition, ConditionType, Phase

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:05:00Z"


def _all_ready() -> dict[ConditionType, Condition]:
    conds = {t: Condition(t, "True", "Fine", "fine") for t in status.COMPONENTS}
    conds[ConditionType.PROGRESSING] = Condition(
        ConditionType.PROGRESSING, "False", "RolloutComplete", "done"
    )
    conds[ConditionType.DEGRADED] = status.degraded_condition([])
    return conds


def test_transition_time_kept_when_only_the_message_changes() -> None:
    stored = [
        status.set_condition(
            [], Condition(ConditionType.API_READY, "False", "Scaling", "1/2"), now=T0, generation=1
        )
    ]
    updated = status.set_condition(
        stored, Condition(ConditionType.API_READY, "False", "Scaling", "0/2"), now=T1, generation=2
    )
    assert updated["lastTransitionTime"] == T0
    assert updated["message"] == "0/2"
    assert updated["observedGeneration"] == 2


def test_transition_time_moves_when_status_flips() -> None:
    stored = [
        status.set_condition(
            [], Condition(ConditionType.API_READY, "False", "Scaling", "1/2"), now=T0, generation=1
        )
    ]
    updated = status.set_condition(
        stored, Condition(ConditionType.API_READY, "True", "Available", "2/2"), now=T1, generation=1
    )
    assert updated["lastTransitionTime"] == T1


def test_every_component_ready_makes_phase_and_condition_ready() -> None:
    conds = _all_ready()
    assert status.derive_phase(conds) == Phase.READY
    ready = status.ready_condition(conds)
    assert (ready.status, ready.reason) == ("True", "PlatformReady")


def test_one_component_not_ready_names_it_in_ready_message() -> None:
    conds = _all_ready()
    conds[ConditionType.DATABASE_READY] = Condition(
        ConditionType.DATABASE_READY, "False", "StatefulSetNotReady", "0/1 ready"
    )
    ready = status.ready_condition(conds)
    assert ready.status == "False"
    assert ready.reason == "StatefulSetNotReady"
    assert "DatabaseReady: 0/1 ready" in ready.message
    assert status.derive_phase(conds) == Phase.PROVISIONING


def test_degraded_wins_over_ready_components() -> None:
    conds = _all_ready()
    conds[ConditionType.DEGRADED] = Condition(
        ConditionType.DEGRADED, "True", "MigrationFailed", "Job failed"
    )
    assert status.derive_phase(conds) == Phase.DEGRADED
    assert status.ready_condition(conds).reason == "MigrationFailed"


def test_running_migration_is_the_migrating_phase() -> None:
    conds = _all_ready()
    conds[ConditionType.MIGRATED] = Condition(
        ConditionType.MIGRATED, "False", "Migrating", "Job running"
    )
    assert status.derive_phase(conds) == Phase.MIGRATING


def test_lifecycle_phases_take_precedence() -> None:
    conds = _all_ready()
    assert status.derive_phase(conds, paused=True) == Phase.PAUSED
    assert status.derive_phase(conds, deleting=True, paused=True) == Phase.DELETING
    assert status.derive_phase(conds, invalid=True) == Phase.FAILED
    assert status.derive_phase(conds, pending=True) == Phase.PENDING


def test_unchanged_status_does_not_differ_and_posts_nothing() -> None:
    conds = status.render_conditions(_all_ready(), existing=[], now=T0, generation=3)
    current = {"phase": "Ready", "conditions": conds, "observedGeneration": 3, "kopf": {"x": 1}}
    again = status.render_conditions(_all_ready(), existing=conds, now=T1, generation=3)
    desired = {"phase": "Ready", "conditions": again, "observedGeneration": 3}
    assert not status.differs(current, desired)
    assert status.transitions(current, desired) == []


def test_flip_to_degraded_posts_a_warning_event() -> None:
    before_conditions = status.render_conditions(_all_ready(), existing=[], now=T0, generation=1)
    before = {"phase": "Ready", "conditions": before_conditions}
    conds = _all_ready()
    conds[ConditionType.DEGRADED] = Condition(
        ConditionType.DEGRADED, "True", "MigrationFailed", "Job failed"
    )
    after = {
        "phase": "Degraded",
        "phaseReason": "Job failed",
        "conditions": status.render_conditions(
            conds, existing=before_conditions, now=T1, generation=2
        ),
    }
    events = status.transitions(before, after)
    assert any(e.warning and e.reason == "MigrationFailed" for e in events)
    assert any(e.reason == "PhaseDegraded" and e.warning for e in events)


def test_merge_patch_removes_fields_the_status_no_longer_has() -> None:
    current = {
        "phase": "Degraded",
        "components": {
            "migrations": {"state": "Failed", "reason": "BackoffLimitExceeded", "message": "x"}
        },
        "kopf": {"progress": {}},
    }
    desired = {"phase": "Ready", "components": {"migrations": {"state": "Succeeded"}}}
    patch = status.merge_patch(current, desired)
    assert patch == {
        "phase": "Ready",
        "components": {"migrations": {"state": "Succeeded", "reason": None, "message": None}},
    }
    # Kopf's bookkeeping is not ours to remove.
    assert "kopf" not in patch


def test_merge_patch_of_an_unchanged_status_is_empty() -> None:
    same = {"phase": "Ready", "components": {"api": {"ready": True}}, "kopf": {}}
    assert status.merge_patch(same, {k: v for k, v in same.items() if k != "kopf"}) == {}


def test_partial_status_patch_keeps_what_it_does_not_mention() -> None:
    current = {"phase": "Ready", "version": {"running": "1.0.0"}}
    assert status.merge_patch(current, {"phase": "Paused"}, complete=False) == {"phase": "Paused"}
