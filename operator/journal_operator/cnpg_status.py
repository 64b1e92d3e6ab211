"""What a CloudNativePG `Cluster` reports, as the platform's `DatabaseReady` (pure).

Called by ``health.database`` when ``spec.database.mode`` is ``cnpg``. CloudNativePG's own
status is the source of truth: the Cluster is ready when its ``Ready`` condition is True and
every instance asked for is ready; otherwise its phase and phase reason (for example
"Setting up primary", "Failing over", "Cluster cannot create instance") say why, and are
passed on as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journal_operator import naming, observe, rollout, spec

KIND = "Cluster"
HEALTHY_PHASE = "Cluster in healthy state"
INSTALL_HINT = (
    "install CloudNativePG (https://cloudnative-pg.io/documentation/current/installation_upgrade/)"
    " or use spec.database.mode managed"
)


def not_installed_message() -> str:
    """Why a `cnpg` platform waits when the API server does not serve `postgresql.cnpg.io/v1`."""
    return f"CloudNativePG is not installed (no postgresql.cnpg.io/v1 Cluster API): {INSTALL_HINT}"


def database(
    p: spec.Platform, observed: observe.Observed
) -> tuple[rollout.Verdict, dict[str, Any]]:
    """``DatabaseReady`` and ``status.components.database`` from the observed Cluster."""
    name = naming.database_name(p)
    want = p.spec.database.cnpg_or_default.instances
    body = observed.body(KIND, name)
    facts: dict[str, Any] = {
        "ready": False,
        "replicas": 0,
        "readyReplicas": 0,
        "summary": f"0/{want}",
        "host": naming.service_host(p, naming.cnpg_rw_service_name(p)),
    }
    if body is None:
        return rollout.Verdict("False", "ClusterMissing", f"creating Cluster {name}"), facts
    status: Mapping[str, Any] = body.get("status") or {}
    ready_instances = int(status.get("readyInstances") or 0)
    instances = int(status.get("instances") or 0)
    image = status.get("image") or (body.get("spec") or {}).get("imageName")
    facts.update(
        replicas=instances, readyReplicas=ready_instances, summary=f"{ready_instances}/{want}"
    )
    if image:
        facts["image"] = str(image)
    condition = observe.conditions_of(body).get("Ready")
    phase = str(status.get("phase") or "")
    detail = phase or "CloudNativePG has not reported a phase yet"
    if status.get("phaseReason"):
        detail += f" ({status['phaseReason']})"
    message = f"Cluster {name}: {detail}; {ready_instances}/{want} instances ready"
    ready = condition is not None and condition.status == "True" and ready_instances >= want
    facts["ready"] = ready
    if ready:
        return rollout.Verdict("True", "ClusterReady", message), facts
    facts["message"] = message
    reason = (condition.reason if condition is not None and condition.reason else "") or (
        "ClusterNotReady"
    )
    return rollout.Verdict("False", reason, message), facts
