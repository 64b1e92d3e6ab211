"""The status contract: condition vocabulary, phase derivation, and the status document.

Pure functions called by ``reconcile.py`` at its last step: the whole ``status`` (minus
Kopf's own ``status.kopf``) is computed from the observed children and the rollout decision,
compared with what is stored, and patched only when it differs. Conditions have the
``metav1.Condition`` shape; ``lastTransitionTime`` moves only when a condition's status flips.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from journal_operator import health, naming, observe, rollout, spec


class ConditionType(enum.StrEnum):
    """Condition types on ``status.conditions``."""

    READY = "Ready"  # every component serves; derived from the others by ready_condition()
    PROGRESSING = "Progressing"  # a migration or rollout is under way (False+reason when stalled)
    DEGRADED = "Degraded"  # abnormal-true: something failed and needs a human
    DATABASE_READY = "DatabaseReady"
    CACHE_READY = "CacheReady"
    MIGRATED = "Migrated"  # the schema is at spec.version
    API_READY = "ApiReady"  # API and worker Deployments have their desired available replicas
    MODELS_READY = "ModelsReady"


COMPONENTS: tuple[ConditionType, ...] = (
    ConditionType.DATABASE_READY,
    ConditionType.CACHE_READY,
    ConditionType.MIGRATED,
    ConditionType.API_READY,
    ConditionType.MODELS_READY,
)
ORDER: tuple[ConditionType, ...] = (
    ConditionType.READY,
    ConditionType.PROGRESSING,
    ConditionType.DEGRADED,
    *COMPONENTS,
)


class Reason(enum.StrEnum):
    """Reasons this module sets itself (others come from rollout and from children)."""

    PLATFORM_READY = "PlatformReady"
    COMPONENTS_NOT_READY = "ComponentsNotReady"
    AS_EXPECTED = "AsExpected"
    PAUSED = "ReconciliationPaused"
    INVALID_SPEC = "InvalidSpec"
    DELETING = "Deleting"
    WAITING = "WaitingForPrerequisites"


class Phase(enum.StrEnum):
    """One-word summary for ``kubectl get jp``; conditions carry the detail."""

    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    MIGRATING = "Migrating"
    READY = "Ready"
    DEGRADED = "Degraded"
    PAUSED = "Paused"
    DELETING = "Deleting"
    FAILED = "Failed"


@dataclasses.dataclass(frozen=True)
class Condition:
    """A condition before timestamps: what the operator concluded this pass."""

    type: ConditionType
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str

    @classmethod
    def of(cls, type_: ConditionType, verdict: rollout.Verdict) -> Condition:
        """A condition from a rollout verdict."""
        return cls(type_, verdict.status, verdict.reason, verdict.message)


def set_condition(
    existing: Sequence[Mapping[str, Any]], new: Condition, *, now: str, generation: int
) -> dict[str, Any]:
    """The stored form of ``new``, keeping ``lastTransitionTime`` unless the status flipped.

    Args:
        existing: the conditions currently stored on the object.
        new: this pass's conclusion.
        now: RFC 3339 timestamp to use when the status flips (or the condition is new).
        generation: the ``metadata.generation`` this conclusion is about.
    """
    previous = next((c for c in existing if c.get("type") == new.type), None)
    flipped = previous is None or previous.get("status") != new.status
    return {
        "type": str(new.type),
        "status": new.status,
        "reason": new.reason,
        "message": new.message[:1000],
        "lastTransitionTime": now
        if flipped or previous is None
        else previous.get("lastTransitionTime", now),
        "observedGeneration": generation,
    }


def derive_phase(
    conditions: Mapping[ConditionType, Condition],
    *,
    paused: bool = False,
    deleting: bool = False,
    invalid: bool = False,
    pending: bool = False,
) -> Phase:
    """The phase, by precedence: lifecycle, then failures, then activity, then Ready."""
    if deleting:
        return Phase.DELETING
    if invalid:
        return Phase.FAILED
    if paused:
        return Phase.PAUSED
    if pending:
        return Phase.PENDING
    if _is(conditions, ConditionType.DEGRADED, "True"):
        return Phase.DEGRADED
    migrated = conditions.get(ConditionType.MIGRATED)
    if migrated is not None and migrated.reason in ("Migrating", "MigrationPending"):
        return Phase.MIGRATING
    if all(_is(conditions, c, "True") for c in COMPONENTS) and not _is(
        conditions, ConditionType.PROGRESSING, "True"
    ):
        return Phase.READY
    return Phase.PROVISIONING


def ready_condition(conditions: Mapping[ConditionType, Condition]) -> Condition:
    """``Ready``: True when every component condition is True and nothing is degraded."""
    not_ready = [c for c in COMPONENTS if not _is(conditions, c, "True")]
    if _is(conditions, ConditionType.DEGRADED, "True"):
        degraded = conditions[ConditionType.DEGRADED]
        return Condition(ConditionType.READY, "False", degraded.reason, degraded.message)
    if not not_ready:
        return Condition(
            ConditionType.READY, "True", Reason.PLATFORM_READY, "every component is ready"
        )
    first = conditions.get(not_ready[0])
    details = "; ".join(
        f"{c}: {conditions[c].message}" if c in conditions else f"{c}: unknown" for c in not_ready
    )
    return Condition(
        ConditionType.READY,
        "False",
        first.reason if first is not None else Reason.COMPONENTS_NOT_READY,
        details,
    )


def degraded_condition(problems: Iterable[rollout.Verdict]) -> Condition:
    """``Degraded`` (abnormal-true): True with the first problem's reason, if any."""
    found = list(problems)
    if not found:
        return Condition(ConditionType.DEGRADED, "False", Reason.AS_EXPECTED, "no failures")
    return Condition(
        ConditionType.DEGRADED, "True", found[0].reason, "; ".join(p.message for p in found)
    )


def _is(conditions: Mapping[ConditionType, Condition], type_: ConditionType, status: str) -> bool:
    cond = conditions.get(type_)
    return cond is not None and cond.status == status


def render_conditions(
    conditions: Mapping[ConditionType, Condition],
    *,
    existing: Sequence[Mapping[str, Any]],
    now: str,
    generation: int,
) -> list[dict[str, Any]]:
    """Stored conditions in a stable order (so an unchanged status compares equal)."""
    return [
        set_condition(existing, conditions[t], now=now, generation=generation)
        for t in ORDER
        if t in conditions
    ]


# Written by Kopf, not by the reconcile: never compared, never removed.
FOREIGN_KEYS = frozenset({"kopf"})


def differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether patching ``desired`` over ``current`` would change any key it sets."""
    return any(current.get(key) != value for key, value in desired.items())


def merge_patch(
    current: Mapping[str, Any], desired: Mapping[str, Any], *, complete: bool = True
) -> dict[str, Any]:
    """The JSON merge patch that turns ``current`` into ``desired``; empty when equal.

    With ``complete`` (``desired`` is the whole status, as ``compute`` builds it), keys that
    ``current`` has and ``desired`` lacks are set to null (removed), at every level of nested
    objects, so no stale ``reason`` stays beside ``state: Succeeded``; top-level
    ``FOREIGN_KEYS`` are left alone. Without it only the keys of ``desired`` are compared
    (a partial status: paused, pending). Lists are replaced whole, as merge patch does.
    """
    return _diff(current, desired, top=True, complete=complete)


def _diff(
    current: Mapping[str, Any], desired: Mapping[str, Any], *, top: bool, complete: bool
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        before = current.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            nested = _diff(before, value, top=False, complete=complete)
            if nested:
                patch[key] = nested
        elif before != value or key not in current:
            patch[key] = value
    if complete:
        for key in current:
            if key not in desired and not (top and key in FOREIGN_KEYS):
                patch[key] = None
    return patch


@dataclasses.dataclass(frozen=True)
class ApplyFailure:
    """A child the API server refused this pass, with its message."""

    kind: str
    name: str
    message: str


@dataclasses.dataclass(frozen=True)
class PassFacts:
    """What a pass saw besides the children: refused applies, Pods, KServe's absence."""

    failures: tuple[ApplyFailure, ...] = ()
    pods: tuple[Mapping[str, Any], ...] = ()
    kserve_missing: bool = False


@dataclasses.dataclass(frozen=True)
class Transition:
    """A change worth a Kubernetes Event."""

    warning: bool
    reason: str
    message: str


def transitions(current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[Transition]:
    """Phase changes and condition flips between two status documents, as Events.

    Only flips are reported (not message updates), so a steady platform posts nothing.
    """
    events: list[Transition] = []
    old_phase, new_phase = current.get("phase"), desired.get("phase")
    if new_phase and old_phase != new_phase:
        events.append(
            Transition(
                warning=new_phase in (Phase.DEGRADED, Phase.FAILED),
                reason=f"Phase{new_phase}",
                message=f"phase {old_phase or 'None'} -> {new_phase}: "
                f"{desired.get('phaseReason', '')}",
            )
        )
    old = {c.get("type"): c for c in current.get("conditions") or []}
    for cond in desired.get("conditions") or []:
        before = old.get(cond["type"])
        if before is not None and before.get("status") == cond["status"]:
            continue
        if before is None and cond["type"] != ConditionType.READY:
            continue  # the first status write: only Ready is worth announcing
        abnormal = (cond["type"] == ConditionType.DEGRADED) == (cond["status"] == "True")
        events.append(
            Transition(
                warning=abnormal and cond["type"] != ConditionType.PROGRESSING,
                reason=str(cond["reason"]),
                message=f"{cond['type']}={cond['status']}: {cond['message']}",
            )
        )
    return events


def compute(
    p: spec.Platform,
    observed: observe.Observed,
    *,
    decision: rollout.Decision,
    inference_mode: str | None,
    current: Mapping[str, Any],
    now: str,
    facts: PassFacts | None = None,
) -> dict[str, Any]:
    """The whole status (except ``status.kopf``) for one reconcile pass.

    Args:
        p: the platform.
        observed: its children as observed at the start of the pass.
        decision: this pass's rollout decision.
        inference_mode: ``kserve`` or ``deployment``.
        current: the status stored now (for timestamps and the running version).
        now: RFC 3339 time used for conditions that flip in this pass.
        facts: refused applies, the platform's Pods (read while something is not ready)
            and whether ``kserve`` mode lacks KServe.
    """
    facts = facts or PassFacts()
    db, cache = health.database(p, observed), health.cache(p, observed)
    api, worker_facts = health.api(p, observed, decision)
    models_verdict, model_entries = health.models(
        p, observed, inference_mode=inference_mode, kserve_missing=facts.kserve_missing
    )
    api_w = observed.workload("Deployment", naming.api_name(p))
    worker_w = observed.workload("Deployment", naming.worker_name(p))
    progressing = rollout.progress(
        decision=decision,
        desired=p.spec.version,
        api=api_w,
        worker=worker_w,
        others=[
            observed.workload("Deployment", body["metadata"]["name"])
            for body in observed.of_kind("Deployment")
            if body["metadata"]["name"] not in (naming.api_name(p), naming.worker_name(p))
        ],
    )
    problems = [v for v in (decision.problem,) if v is not None]
    if facts.failures:
        problems.append(
            rollout.Verdict(
                "True",
                "ApplyFailed",
                "the API server refused: "
                + "; ".join(f"{f.kind} {f.name}: {f.message}" for f in facts.failures),
            )
        )
    problems.extend(
        health.pod_problems(
            facts.pods, now=now, deadline_seconds=p.spec.rollout.progress_deadline_seconds
        )
    )
    if rollout.stalled(progressing):
        problems.append(progressing)
    conds: dict[ConditionType, Condition] = {
        ConditionType.PROGRESSING: Condition.of(ConditionType.PROGRESSING, progressing),
        ConditionType.DEGRADED: degraded_condition(problems),
        ConditionType.DATABASE_READY: Condition.of(ConditionType.DATABASE_READY, db.verdict),
        ConditionType.CACHE_READY: Condition.of(ConditionType.CACHE_READY, cache.verdict),
        ConditionType.MIGRATED: Condition.of(ConditionType.MIGRATED, decision.migrated_condition),
        ConditionType.API_READY: Condition.of(ConditionType.API_READY, api.verdict),
        ConditionType.MODELS_READY: Condition.of(ConditionType.MODELS_READY, models_verdict),
    }
    lost = _lost_components(p, conds, current)
    if lost is not None:
        problems.append(lost)
    conds[ConditionType.DEGRADED] = degraded_condition(problems)
    conds[ConditionType.READY] = ready_condition(conds)
    phase = derive_phase(conds)
    versions = current.get("version") or {}
    running = versions.get("running")
    if api_w is not None and api_w.rolled_out and api_w.version:
        running = api_w.version
    result: dict[str, Any] = {
        "observedGeneration": p.generation,
        "phase": str(phase),
        "phaseReason": _phase_reason(phase, conds),
        "conditions": render_conditions(
            conds, existing=current.get("conditions") or [], now=now, generation=p.generation
        ),
        "version": {
            k: v
            for k, v in {
                "running": running,
                "desired": p.spec.version,
                "migrated": decision.migrated,
                "migratedImage": decision.migrated_image,
                "images": {"api": decision.images.api, "worker": decision.images.worker}
                if decision.images is not None and decision.serve is not None
                else None,
            }.items()
            if v
        },
        "url": naming.api_url(p),
        "selector": naming.selector_string(p, naming.Component.API),
        "components": {
            "database": db.facts,
            "cache": cache.facts,
            "api": api.facts,
            "worker": worker_facts,
            "migrations": health.migrations(
                p,
                observed,
                decision,
                previous=(current.get("components") or {}).get("migrations") or {},
            ),
            "models": model_entries,
        },
    }
    if inference_mode:
        result["inferenceMode"] = inference_mode
    return result


def _lost_components(
    p: spec.Platform, conds: Mapping[ConditionType, Condition], current: Mapping[str, Any]
) -> rollout.Verdict | None:
    # A platform that was Ready (or already Degraded) for this very spec and now misses a
    # component lost it: that needs a human, it is not still being provisioned.
    before = {c.get("type"): c for c in current.get("conditions") or []}
    was_lost = (before.get(ConditionType.DEGRADED) or {}).get("reason") == "ComponentLost"
    was_up = current.get("phase") == Phase.READY or (
        current.get("phase") == Phase.DEGRADED and was_lost
    )
    same_spec = current.get("observedGeneration") == p.generation
    migrated = conds.get(ConditionType.MIGRATED)
    migrating = migrated is not None and migrated.reason in ("Migrating", "MigrationPending")
    down = [c for c in COMPONENTS if not _is(conds, c, "True") and c != ConditionType.MIGRATED]
    if not (was_up and same_spec and down) or migrating:
        return None
    details = "; ".join(f"{c}: {conds[c].message}" for c in down if c in conds)
    return rollout.Verdict("True", "ComponentLost", f"was Ready, lost {details}")


def paused(p: spec.Platform, *, current: Mapping[str, Any], now: str) -> dict[str, Any]:
    """Status while ``spec.paused``: everything as it was, plus Paused and why."""
    existing = list(current.get("conditions") or [])
    note = Condition(
        ConditionType.PROGRESSING,
        "False",
        Reason.PAUSED,
        "spec.paused is true: the operator changes nothing until it is false",
    )
    conditions = [c for c in existing if c.get("type") != ConditionType.PROGRESSING]
    conditions.insert(
        1 if conditions else 0, set_condition(existing, note, now=now, generation=p.generation)
    )
    return {
        "observedGeneration": p.generation,
        "phase": str(Phase.PAUSED),
        "phaseReason": note.message,
        "conditions": conditions,
    }


def pending(
    p: spec.Platform, *, current: Mapping[str, Any], message: str, now: str
) -> dict[str, Any]:
    """Status while a prerequisite (a user's Secret) is missing."""
    cond = Condition(ConditionType.READY, "False", Reason.WAITING, message)
    existing = list(current.get("conditions") or [])
    conditions = [set_condition(existing, cond, now=now, generation=p.generation)] + [
        c for c in existing if c.get("type") != ConditionType.READY
    ]
    return {
        "observedGeneration": p.generation,
        "phase": str(Phase.PENDING),
        "phaseReason": message,
        "conditions": conditions,
    }


def _phase_reason(phase: Phase, conds: Mapping[ConditionType, Condition]) -> str:
    if phase == Phase.READY:
        return "every component is ready"
    if phase == Phase.DEGRADED:
        return conds[ConditionType.DEGRADED].message
    if phase == Phase.MIGRATING:
        return conds[ConditionType.MIGRATED].message
    return conds[ConditionType.READY].message or conds[ConditionType.PROGRESSING].message
