"""Prometheus metrics of the operator itself, defined once.

``reconcile.py`` records every pass (result and duration) and the phase each platform is in;
``__main__`` serves them with ``serve()``. Kopf exposes no metrics of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import prometheus_client

RECONCILES = prometheus_client.Counter(
    "journal_operator_reconciles_total",
    "Reconcile passes, by trigger and result (ok, error, invalid, paused).",
    ["trigger", "result"],
)
RECONCILE_SECONDS = prometheus_client.Histogram(
    "journal_operator_reconcile_duration_seconds",
    "Wall time of one reconcile pass.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PLATFORMS = prometheus_client.Gauge(
    "journal_operator_platforms",
    "JournalPlatforms known to this operator, by phase.",
    ["phase"],
)
CONDITIONS = prometheus_client.Gauge(
    "journal_operator_platform_condition",
    "1 for each condition a JournalPlatform has now, by platform, type, status and reason "
    "(what the alerts on Ready, migrations and stalled rollouts look at).",
    ["namespace", "name", "type", "status", "reason"],
)
APPLIES = prometheus_client.Counter(
    "journal_operator_child_applies_total",
    "Server-side applies of child objects (drift repairs and changes), by kind.",
    ["kind"],
)

# (namespace, name) -> phase; the gauge is recomputed from it so deleted platforms drop out.
_phases: dict[tuple[str, str], str] = {}
# (namespace, name) -> the (type, status, reason) label sets exported for it now.
_conditions: dict[tuple[str, str], set[tuple[str, str, str]]] = {}


@contextmanager
def timed_reconcile(trigger: str) -> Iterator[dict[str, str]]:
    """Time a pass; the caller sets ``outcome["result"]`` before leaving (default: error)."""
    outcome = {"result": "error"}
    started = time.perf_counter()
    try:
        yield outcome
    finally:
        RECONCILE_SECONDS.observe(time.perf_counter() - started)
        RECONCILES.labels(trigger=trigger, result=outcome["result"]).inc()


def record_phase(
    key: tuple[str, str],
    phase: str | None,
    conditions: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Remember a platform's phase (None: the platform is gone) and refresh the gauges.

    ``conditions`` (``status.conditions`` as written) replace the platform's series of
    ``journal_operator_platform_condition``; a platform that is gone loses them all.
    """
    _record_conditions(key, conditions if phase is not None else None)
    if phase is None:
        _phases.pop(key, None)
    else:
        _phases[key] = phase
    counts: dict[str, int] = {}
    for value in _phases.values():
        counts[value] = counts.get(value, 0) + 1
    for labels in list(PLATFORMS._metrics):  # reset phases that dropped to zero
        PLATFORMS.labels(*labels).set(0)
    for value, count in counts.items():
        PLATFORMS.labels(phase=value).set(count)


def _record_conditions(
    key: tuple[str, str], conditions: Sequence[Mapping[str, Any]] | None
) -> None:
    current = {
        (str(c.get("type")), str(c.get("status")), str(c.get("reason") or ""))
        for c in conditions or ()
        if c.get("type")
    }
    for stale in _conditions.pop(key, set()) - current:
        CONDITIONS.remove(*key, *stale)
    for labels in current:
        CONDITIONS.labels(*key, *labels).set(1)
    if current:
        _conditions[key] = current


def serve(*, host: str, port: int) -> None:
    """Serve ``/metrics`` on a background thread (port 0: disabled)."""
    if port:
        prometheus_client.start_http_server(port, addr=host)


def phase_of(key: tuple[str, str]) -> str | None:
    """The phase last recorded for a platform (None: unknown or gone)."""
    return _phases.get(key)
