"""Server-side apply of one desired child, only when it is missing or has drifted.

Used by ``reconcile.apply_children`` for every manifest of the plan. A healthy child costs
no request at all: it is applied only when absent, applied from a different manifest (our
``applied-hash`` annotation differs) or edited by hand (what we set is no longer a subset of
what is stored). The watch cache the reconcile observes from lags our own writes by one
event, so an apply made moments ago is remembered and not repeated while it catches up.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

from journal_operator import hashing, metrics, naming, observe
from journal_operator.k8s import apply as k8s
from journal_operator.k8s import client as k8s_client
from journal_operator.manifests import Manifest, ref

APPLIED_HASH = f"{naming.GROUP}/applied-hash"
# How long a child we applied may be missing from the watch cache before we apply it again.
RECENT_APPLY_SECONDS = 15.0


@dataclasses.dataclass
class Applier:
    """Applies children for every platform of this process; remembers its recent writes."""

    client: k8s_client.Client
    # (namespace, kind, name) -> (applied hash, when)
    recent: dict[tuple[str, str, str], tuple[str, float]] = dataclasses.field(default_factory=dict)
    # (namespace, platform) with an apply left for a later pass (its last write not seen yet).
    deferred: set[tuple[str, str]] = dataclasses.field(default_factory=set)

    async def apply_if_drifted(
        self,
        manifest: Manifest,
        actual: Mapping[str, Any] | None,
        *,
        logger: logging.Logger | logging.LoggerAdapter[Any],
    ) -> bool:
        """Apply ``manifest`` if ``actual`` (the cached child) needs it; return whether it did."""
        applied_hash = hashing.digest(manifest)
        if not observe.drifted(
            manifest, actual, applied_hash=applied_hash, hash_annotation=APPLIED_HASH
        ):
            return False
        identity = ref(manifest)
        key = (identity.namespace, identity.kind, identity.name)
        if self._in_flight(key, applied_hash, actual):
            labels = meta_labels(manifest)
            self.deferred.add((identity.namespace or "", labels.get(naming.LABEL_INSTANCE, "")))
            return False
        meta = manifest["metadata"]
        annotations = {**(meta.get("annotations") or {}), APPLIED_HASH: applied_hash}
        logger.debug(
            "applying %s %s (%s)",
            identity.kind,
            identity.name,
            "missing" if actual is None else "drifted",
        )
        await k8s.apply(self.client, {**manifest, "metadata": {**meta, "annotations": annotations}})
        self.recent[key] = (applied_hash, time.monotonic())
        metrics.APPLIES.labels(kind=identity.kind).inc()
        return True

    def take_deferred(self, namespace: str, instance: str) -> bool:
        """Whether a pass of this platform left an apply for later (and forget it)."""
        key = (namespace, instance)
        found = key in self.deferred
        self.deferred.discard(key)
        return found

    def forget(self, namespace: str, instance: str) -> None:
        """Drop what is remembered about a deleted platform's children."""
        prefix = f"{instance}-"
        for key in [k for k in self.recent if k[0] == namespace and k[2].startswith(prefix)]:
            del self.recent[key]

    def _in_flight(
        self, key: tuple[str, str, str], applied_hash: str, actual: Mapping[str, Any] | None
    ) -> bool:
        recent = self.recent.get(key)
        if recent is None or recent[0] != applied_hash:
            return False
        seen = ((actual or {}).get("metadata") or {}).get("annotations") or {}
        fresh = time.monotonic() - recent[1] < RECENT_APPLY_SECONDS
        return seen.get(APPLIED_HASH) != applied_hash and fresh


def meta_labels(manifest: Manifest) -> Mapping[str, str]:
    """A manifest's labels (empty when it has none)."""
    labels: Mapping[str, str] = (manifest.get("metadata") or {}).get("labels") or {}
    return labels
