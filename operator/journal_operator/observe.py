"""Read every child of one platform once, into an ``Observed`` snapshot.

``handlers.py`` keeps Kopf indexes of our children (filled by watch events, so observing
costs no API round-trips) and hands the owner's slice to ``reconcile.run``, which calls
``observe()`` first and decides nothing before it has the whole picture (CNPG's
``poolerManagedResources``). Everything here is pure: raw bodies in, typed facts out.
"""

from __future__ import annotations

import dataclasses
import decimal
import re
from collections.abc import Iterable, Mapping
from typing import Any

Body = Mapping[str, Any]
Key = tuple[str, str]  # (kind, name)


@dataclasses.dataclass(frozen=True)
class ConditionFact:
    """One condition as a child reported it (Deployment, Job, InferenceService...)."""

    status: str
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Workload:
    """A Deployment's or StatefulSet's rollout facts."""

    kind: str
    name: str
    generation: int
    observed_generation: int
    replicas: int  # desired, from spec
    current: int  # status.replicas: pods that exist (the scale subresource reports this)
    ready: int
    available: int
    updated: int
    images: tuple[str, ...]
    version: str | None  # app.kubernetes.io/version of the pod template
    conditions: Mapping[str, ConditionFact]

    @property
    def rolled_out(self) -> bool:
        """Every replica runs the current template and is available (kubectl rollout status).

        Pods of an older template must be gone too: a surge pod of a new template that never
        becomes ready leaves the old pod serving, with as many available as desired.
        """
        return (
            self.observed_generation >= self.generation
            and self.updated >= self.replicas
            and self.current <= self.updated
            and self.available >= self.replicas
            and self.ready >= self.replicas
        )


@dataclasses.dataclass(frozen=True)
class JobFact:
    """A Job's completion facts."""

    name: str
    version: str | None
    active: int
    succeeded: bool
    failed: bool
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class ModelFact:
    """A model server's readiness, from an InferenceService or a plain Deployment."""

    name: str
    ready: bool
    reason: str
    message: str
    url: str | None


@dataclasses.dataclass(frozen=True)
class Observed:
    """Every child of one platform, keyed by (kind, name), as last seen by the watches.

    ``objects`` holds the raw bodies (for drift checks); the methods derive typed facts.
    ``secrets`` holds only the names of our Secrets: their values are never cached.
    """

    objects: Mapping[Key, Body]
    secrets: Mapping[str, str]  # name -> resourceVersion

    def secrets_version(self, name: str) -> str:
        """The resourceVersion of one of our Secrets ("" when absent)."""
        return self.secrets.get(name, "")

    def has(self, kind: str, name: str) -> bool:
        """Whether the child exists (for Secrets: by name only)."""
        if kind == "Secret":
            return name in self.secrets
        return (kind, name) in self.objects

    def body(self, kind: str, name: str) -> Body | None:
        """The raw body of a child, or None."""
        return self.objects.get((kind, name))

    def of_kind(self, kind: str) -> list[Body]:
        """All children of one kind, sorted by name."""
        return [b for (k, n), b in sorted(self.objects.items()) if k == kind]

    def workload(self, kind: str, name: str) -> Workload | None:
        """Rollout facts of a Deployment or StatefulSet, or None when absent."""
        body = self.body(kind, name)
        return workload_facts(body) if body is not None else None

    def job(self, name: str) -> JobFact | None:
        """Completion facts of a Job, or None when absent."""
        body = self.body("Job", name)
        return job_facts(body) if body is not None else None


def observe(children: Iterable[Body], *, secrets: Mapping[str, str] | None = None) -> Observed:
    """Build the snapshot from the children's bodies (any order, any kinds)."""
    objects: dict[Key, Body] = {}
    for body in children:
        objects[(str(body.get("kind", "")), str(body["metadata"]["name"]))] = body
    return Observed(objects=objects, secrets=dict(secrets or {}))


def conditions_of(body: Body) -> dict[str, ConditionFact]:
    """A body's ``status.conditions`` by type."""
    result: dict[str, ConditionFact] = {}
    for cond in (body.get("status") or {}).get("conditions") or []:
        result[str(cond.get("type"))] = ConditionFact(
            status=str(cond.get("status", "Unknown")),
            reason=str(cond.get("reason") or ""),
            message=str(cond.get("message") or ""),
        )
    return result


def workload_facts(body: Body) -> Workload:
    """Facts of a Deployment or StatefulSet body."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    template = spec.get("template") or {}
    pod_spec = template.get("spec") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    ready = int(status.get("readyReplicas") or 0)
    # StatefulSets report availableReplicas too (since 1.22); older ones only readyReplicas.
    available = int(status.get("availableReplicas", ready) or 0)
    return Workload(
        kind=str(body.get("kind")),
        name=str(meta.get("name")),
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        replicas=int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1),
        current=int(status.get("replicas") or 0),
        ready=ready,
        available=available,
        updated=int(status.get("updatedReplicas") or 0),
        images=tuple(str(c.get("image")) for c in pod_spec.get("containers") or []),
        version=labels.get("app.kubernetes.io/version"),
        conditions=conditions_of(body),
    )


def job_facts(body: Body) -> JobFact:
    """Facts of a Job body: finished means a Complete or Failed condition is True."""
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    conds = conditions_of(body)
    complete = conds.get("Complete")
    failed = conds.get("Failed")
    reason, message = "", ""
    if failed is not None and failed.status == "True":
        reason, message = failed.reason or "JobFailed", failed.message
    return JobFact(
        name=str(meta.get("name")),
        version=(meta.get("labels") or {}).get("app.kubernetes.io/version"),
        active=int(status.get("active") or 0),
        succeeded=complete is not None and complete.status == "True",
        failed=failed is not None and failed.status == "True",
        reason=reason,
        message=message,
    )


def inference_service_facts(body: Body) -> ModelFact:
    """Readiness of a KServe InferenceService.

    Ready needs the Ready condition True *and* a status that describes the current generation:
    in raw mode KServe can leave Ready=True while a new spec is still rolling (kserve#4626).
    """
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    ready = conditions_of(body).get("Ready")
    current = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    address = (status.get("address") or {}).get("url")
    if ready is None:
        return ModelFact(
            str(meta.get("name")),
            False,
            "InferenceServicePending",
            "KServe has not reported readiness yet",
            address,
        )
    return ModelFact(
        name=str(meta.get("name")),
        ready=ready.status == "True" and current,
        reason=ready.reason
        or ("InferenceServiceReady" if ready.status == "True" else "InferenceServiceNotReady"),
        message=ready.message,
        url=address or status.get("url"),
    )


def drifted(desired: Body, actual: Body | None, *, applied_hash: str, hash_annotation: str) -> bool:
    """Whether ``actual`` needs ``desired`` applied again.

    Three reasons: it is missing; it was applied from a different desired manifest (the hash
    annotation differs, which also catches fields we stopped setting); or someone edited a
    field we set (``desired`` is no longer a subset of it). Fields others set (defaults,
    controllers' status) are ignored, so a healthy child is never re-applied.
    """
    if actual is None:
        return True
    annotations = (actual.get("metadata") or {}).get("annotations") or {}
    if annotations.get(hash_annotation) != applied_hash:
        return True
    return not is_subset(desired, actual)


def is_subset(desired: Any, actual: Any) -> bool:
    """Every value in ``desired`` is present and equal in ``actual``.

    Lists of named items (containers, env, ports, volumes) match by name, as server-side
    apply merges them, so an item another manager added is not our drift; other lists
    match position by position and must have the same length. Scalars compare as text
    when their types differ (the API server stores ``1`` for a quantity given as ``"1"``)
    and as quantities when both are (``0.5`` and ``500m``); an empty value we set matches
    an absent field, since the API server drops it.
    """
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(
            is_subset(value, actual[key]) if key in actual else _empty(value)
            for key, value in desired.items()
        )
    if isinstance(desired, list):
        if not isinstance(actual, list):
            return False
        if desired and all(isinstance(d, Mapping) and "name" in d for d in desired):
            by_name = {a.get("name"): a for a in actual if isinstance(a, Mapping)}
            return all(d["name"] in by_name and is_subset(d, by_name[d["name"]]) for d in desired)
        return len(desired) == len(actual) and all(
            is_subset(d, a) for d, a in zip(desired, actual, strict=True)
        )
    if desired == actual or str(desired) == str(actual):
        return True
    left, right = quantity(desired), quantity(actual)
    return left is not None and left == right


def _empty(value: Any) -> bool:
    # The API server drops empty maps, lists and strings and nulls it is given.
    return value is None or value == {} or value == [] or value == ""


_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def quantity(value: Any) -> decimal.Decimal | None:
    """A Kubernetes quantity's exact value (``500m`` and ``0.5`` are equal), or None.

    The API server stores quantities in its canonical form (``0.5`` CPU becomes ``500m``,
    ``1024Mi`` stays, ``1e3`` becomes ``1k``); compared as values, what we set never looks
    drifted, so nothing is re-applied forever.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    match = _QUANTITY.match(str(value))
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    amount = decimal.Decimal(number)
    if exponent:
        return amount.scaleb(int(exponent[1:]))
    if suffix in _BINARY:
        return amount * _BINARY[suffix]
    return amount.scaleb(_DECIMAL[suffix or ""])
