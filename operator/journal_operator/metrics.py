"""Prometheus metrics of the operator itself, defined once.

``reconcile.py`` records every pass (result and duration) and the phase each platform is in;
``__main__`` serves them with ``serve()``. Kopf exposes no metrics of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

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
APPLIES = prometheus_client.Counter(
    "journal_operator_child_applies_total",
    "Server-side applies of child objects (drift repairs and changes), by kind.",
    ["kind"],
)

# (namespace, name) -> phase; the gauge is recomputed from it so deleted platforms drop out.
_phases: dict[tuple[str, str], str] = {}


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


def record_phase(key: tuple[str, str], phase: str | None) -> None:
    """Remember a platform's phase (None: the platform is gone) and refresh the gauge."""
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


def serve(*, host: str, port: int) -> None:
    """Serve ``/metrics`` on a background thread (port 0: disabled)."""
    if port:
        prometheus_client.start_http_server(port, addr=host)
