"""Kopf handlers: thin wiring from Kubernetes events to ``reconcile``.

Imported by ``__main__`` (registering the handlers is the import's side effect). Every
handler returns None, so nothing lands in ``status.<handler-id>``.

How a platform is kept reconciled:
1. ``reconcile_platform`` (create / update / resume) runs one level-based pass at once.
2. ``keep_reconciled``, a daemon per platform, runs a pass whenever a child changes (its
   doorbell rings) and every ``resync_seconds`` otherwise. A daemon rather than a timer:
   a timer cannot be woken early, and drift must be repaired within seconds.
3. Index handlers cache every child by owner (observing costs no API reads) and ring the
   owner's doorbell; an event handler rings it for a deleted child, which Kopf drops from
   the index without calling an index handler. They never write to the children, and they
   are coroutines: Kopf runs plain functions in a thread pool, a thread hop (and in the long
   run a malloc arena) per watch event.
4. ``finalize_platform`` applies ``deletionPolicy`` before the children are garbage-collected.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import kopf

from journal_operator import applying, finalizing, metrics, naming, reconcile
from journal_operator import settings as settings_mod
from journal_operator import status as status_mod
from journal_operator.k8s import apply as k8s_apply
from journal_operator.k8s import client as k8s_client

GROUP, VERSION, PLURAL = naming.GROUP, naming.VERSION, naming.PLURAL
MANAGED = {naming.LABEL_MANAGED_BY: naming.MANAGER}
# A resync whose inputs did not change is skipped, but never for longer than this.
FULL_RESYNC_SECONDS = 300.0


@dataclasses.dataclass(frozen=True)
class ChildResource:
    """A kind of child the operator creates and watches."""

    group: str
    version: str
    plural: str
    index_id: str


CHILD_RESOURCES: tuple[ChildResource, ...] = (
    ChildResource("", "v1", "configmaps", "idx_configmaps"),
    ChildResource("", "v1", "services", "idx_services"),
    ChildResource("apps", "v1", "deployments", "idx_deployments"),
    ChildResource("apps", "v1", "statefulsets", "idx_statefulsets"),
    ChildResource("batch", "v1", "jobs", "idx_jobs"),
    ChildResource("autoscaling", "v2", "horizontalpodautoscalers", "idx_hpas"),
    ChildResource("policy", "v1", "poddisruptionbudgets", "idx_pdbs"),
    ChildResource("networking.k8s.io", "v1", "networkpolicies", "idx_networkpolicies"),
    ChildResource("networking.k8s.io", "v1", "ingresses", "idx_ingresses"),
    ChildResource("serving.kserve.io", "v1beta1", "inferenceservices", "idx_inferenceservices"),
    # database.mode cnpg; watched only where CloudNativePG is installed (Kopf waits for it).
    ChildResource("postgresql.cnpg.io", "v1", "clusters", "idx_cnpg_clusters"),
    ChildResource("postgresql.cnpg.io", "v1", "scheduledbackups", "idx_cnpg_scheduledbackups"),
)
SECRETS = ChildResource("", "v1", "secrets", "idx_secrets")
# Noise the reconcile never reads; dropping it keeps the cache small.
_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


@dataclasses.dataclass
class Doorbells:
    """One asyncio.Event per platform: set by child events, awaited by its daemon."""

    bells: dict[tuple[str, str], asyncio.Event] = dataclasses.field(default_factory=dict)

    def get(self, key: tuple[str, str]) -> asyncio.Event:
        return self.bells.setdefault(key, asyncio.Event())

    def ring(self, key: tuple[str, str]) -> None:
        bell = self.bells.get(key)
        if bell is not None:
            bell.set()

    def forget(self, key: tuple[str, str]) -> None:
        self.bells.pop(key, None)


@kopf.on.startup()
async def start_operator(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Configure Kopf and open the API client."""
    ours: settings_mod.OperatorSettings = memo["settings"]
    settings_mod.configure_kopf(ours, settings)
    # Server-side filtering: the operator never even receives other controllers' objects.
    selector = f"{naming.LABEL_MANAGED_BY}={naming.MANAGER}"
    for child in (*CHILD_RESOURCES, SECRETS):
        settings.watching.label_selectors[_selector_key(child)] = selector
    client = await k8s_client.connect()
    memo["context"] = reconcile.Context(
        client=client,
        settings=ours,
        applier=applying.Applier(client),
        slots=asyncio.Semaphore(ours.reconcile_concurrency),
    )
    memo["doorbells"] = Doorbells()


@kopf.on.cleanup()
async def stop_operator(memo: kopf.Memo, **_: Any) -> None:
    """Close the API client."""
    ctx: reconcile.Context | None = memo.get("context")
    if ctx is not None:
        await k8s_client.close(ctx.client)


@kopf.on.probe(id="reconciles")
async def count_reconciles(**_: Any) -> float:
    """Liveness detail: reconcile passes so far (the endpoint answering is the real signal)."""
    return sum(
        sample.value
        for metric in metrics.RECONCILES.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@kopf.on.resume(GROUP, VERSION, PLURAL)
async def reconcile_platform(
    body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, retry: int, reason: str, **kwargs: Any
) -> None:
    """Bring a platform to its spec now (level-based: the same pass for every cause)."""
    await _reconcile(
        body, memo=memo, logger=logger, trigger=str(reason), indices=kwargs, retry=retry
    )


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=5.0)
async def keep_reconciled(
    body: kopf.Body,
    memo: kopf.Memo,
    logger: kopf.Logger,
    namespace: str | None,
    name: str,
    **kwargs: Any,
) -> None:
    """Re-run the reconcile when a child changes, and on a resync interval otherwise."""
    ours: settings_mod.OperatorSettings = memo["settings"]
    doorbells: Doorbells = memo["doorbells"]
    key = (str(namespace), name)
    bell = doorbells.get(key)
    failures = 0
    # The inputs of the last pass that completed, and when a resync last ran in full.
    last_inputs: tuple[Any, ...] | None = None
    last_full = time.monotonic()
    try:
        while True:
            delay = ours.resync_seconds if not failures else min(300.0, 2.0**failures)
            trigger = "resync"
            try:
                await asyncio.wait_for(bell.wait(), timeout=delay)
                trigger = "child"
            except TimeoutError:
                pass
            # No pause to let a burst settle: each wait would be added to every step of a
            # first install (database ready -> migrations -> API -> Ready), one per step. A
            # burst is still covered by few passes: what arrives during a pass rings the bell
            # again, and the next pass reads all of it from the index at once.
            bell.clear()
            inputs = _pass_inputs(body, kwargs, key)
            if (
                trigger == "resync"
                and inputs == last_inputs
                and time.monotonic() - last_full < FULL_RESYNC_SECONDS
            ):
                # Nothing the pass reads has changed since the last one (same owner and child
                # resourceVersions): it would decide and write nothing. Skipped, except every
                # FULL_RESYNC_SECONDS for what no watch reports (a CRD installed later).
                metrics.RECONCILES.labels(trigger="resync", result="unchanged").inc()
                continue
            if trigger == "resync":
                last_full = time.monotonic()
            try:
                await _reconcile(
                    body, memo=memo, logger=logger, trigger=trigger, indices=kwargs, retry=0
                )
                # Only a platform that converged (Ready, nothing left for a later pass) may
                # skip unchanged resyncs: anything else may be waiting on what no watch shows.
                converged = metrics.phase_of(key) == status_mod.Phase.READY
                deferred = _context(memo).applier.take_deferred(*key)
                last_inputs = inputs if converged and not deferred else None
                failures = 0
            except (kopf.TemporaryError, kopf.PermanentError) as exc:
                last_inputs = None
                failures += 1
                logger.warning("reconcile did not complete: %s", exc)
            except Exception:
                last_inputs = None
                failures += 1
                logger.exception("reconcile failed; retrying with backoff")
    finally:
        doorbells.forget(key)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def finalize_platform(
    body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Honour ``deletionPolicy``: keep (orphan and label) or delete volumes and Secrets."""
    ctx = _context(memo)
    await finalizing.finalize(ctx.client, owner=body, logger=logger)
    ctx.forget(str(body.metadata.namespace), str(body.metadata.name))


def _pass_inputs(
    body: kopf.Body, indices: Mapping[str, Any], key: tuple[str, str]
) -> tuple[Any, ...]:
    """What a pass reads, by version: the owner's and every child's resourceVersion."""
    cached, secrets = _owner_cache(indices, key)
    return (
        body.metadata.get("resourceVersion"),
        tuple(sorted((c.kind, c.name, c.resource_version) for c in cached)),
        tuple(sorted(secrets.items())),
    )


def _context(memo: kopf.Memo) -> reconcile.Context:
    ctx: reconcile.Context = memo["context"]
    return ctx


def _owner_key(body: kopf.Body) -> tuple[str, str] | None:
    for ref in body.metadata.get("ownerReferences") or []:
        if ref.get("kind") == "JournalPlatform" and str(ref.get("apiVersion", "")).startswith(
            GROUP + "/"
        ):
            return str(body.metadata.namespace), str(ref["name"])
    return None


def _slim(body: kopf.Body) -> dict[str, Any]:
    raw = dict(body)
    metadata = dict(raw.get("metadata") or {})
    metadata.pop("managedFields", None)
    annotations = {
        k: v
        for k, v in (metadata.get("annotations") or {}).items()
        if k not in _DROPPED_ANNOTATIONS
    }
    metadata["annotations"] = annotations
    raw["metadata"] = metadata
    return raw


@dataclasses.dataclass(frozen=True)
class CachedChild:
    """A child as the index keeps it: identity and version, and its slimmed body compressed.

    Dozens of platforms times a dozen children as Python dicts were most of the operator's
    memory; the compressed JSON is a tenth of it, and a pass decodes only its own children.
    """

    kind: str
    name: str
    resource_version: str
    packed: bytes

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> CachedChild:
        meta = body.get("metadata") or {}
        text = json.dumps(body, separators=(",", ":"))
        return cls(
            kind=str(body.get("kind")),
            name=str(meta.get("name")),
            resource_version=str(meta.get("resourceVersion")),
            packed=zlib.compress(text.encode(), 1),
        )

    def body(self) -> dict[str, Any]:
        """The slimmed body, decoded."""
        decoded: dict[str, Any] = json.loads(zlib.decompress(self.packed))
        return decoded


async def _index_child(
    body: kopf.Body, memo: kopf.Memo, **_: Any
) -> dict[tuple[str, str], CachedChild]:
    key = _owner_key(body)
    if key is None:
        return {}
    _ring(memo, key)
    return {key: CachedChild.of(_slim(body))}


async def _index_secret(
    body: kopf.Body, memo: kopf.Memo, **_: Any
) -> dict[tuple[str, str], tuple[str, str]]:
    # Only name and resourceVersion: generated values must never sit in the operator's
    # memory longer than the watch event that carried them.
    key = _owner_key(body) or _retained_owner(body)
    if key is None:
        return {}
    _ring(memo, key)
    return {key: (str(body.metadata.name), str(body.metadata.get("resourceVersion", "")))}


def _ring(memo: kopf.Memo, key: tuple[str, str]) -> None:
    """Wake the owner's daemon from an index handler.

    Ringing here, not from a separate ``on.event`` handler, halves the handlers Kopf runs
    (and logs) per child event: a platform's children change a few dozen times on the way to
    Ready, and the children of every platform in the cluster are listed at startup. The daemon
    still reads the new entry: Kopf stores what an index handler returns before its worker
    next yields to the event loop (``index_resource``: the handler, then ``indexers.replace``),
    and the woken daemon runs only after that.
    """
    doorbells: Doorbells | None = memo.get("doorbells")
    if doorbells is not None:
        doorbells.ring(key)


def _retained_owner(body: kopf.Body) -> tuple[str, str] | None:
    instance = body.metadata.labels.get(naming.LABEL_INSTANCE)
    return (str(body.metadata.namespace), str(instance)) if instance else None


async def _ring_owner_of_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    key = _owner_key(body) or _retained_owner(body)
    if key is not None:
        _ring(memo, key)


def _deleted(type: str | None, **_: Any) -> bool:  # `type`: the name Kopf passes it by
    return type == "DELETED"


def _register_child_watches() -> None:
    for child in (*CHILD_RESOURCES, SECRETS):
        index = _index_secret if child is SECRETS else _index_child
        kopf.index(child.group, child.version, child.plural, id=child.index_id, labels=MANAGED)(
            index
        )
        # Kopf runs this (and logs it) only for deletions; every other event rang in the index.
        kopf.on.event(
            child.group,
            child.version,
            child.plural,
            id=f"ring-{child.plural}",
            labels=MANAGED,
            when=_deleted,
        )(_ring_owner_of_deleted)


_register_child_watches()


def _selector_key(child: ChildResource) -> tuple[str, str] | str:
    return (f"{child.group}/{child.version}" if child.group else child.version, child.plural)


def _owner_cache(
    indices: Mapping[str, Any], key: tuple[str, str]
) -> tuple[list[CachedChild], dict[str, str]]:
    cached: list[CachedChild] = []
    for child in CHILD_RESOURCES:
        index = indices.get(child.index_id)
        if index is not None and key in index:
            cached.extend(index[key])
    secrets: dict[str, str] = {}
    secrets_index = indices.get(SECRETS.index_id)
    if secrets_index is not None and key in secrets_index:
        secrets = dict(secrets_index[key])
    return cached, secrets


def _owner_slice(
    indices: Mapping[str, Any], key: tuple[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    cached, secrets = _owner_cache(indices, key)
    return [c.body() for c in cached], secrets


async def _reconcile(
    body: kopf.Body,
    *,
    memo: kopf.Memo,
    logger: kopf.Logger,
    trigger: str,
    indices: Mapping[str, Any],
    retry: int,
) -> None:
    key = (str(body.metadata.namespace), str(body.metadata.name))
    locks: dict[tuple[str, str], asyncio.Lock] = memo.setdefault("locks", {})
    async with locks.setdefault(key, asyncio.Lock()):
        children, secrets = _owner_slice(indices, key)
        try:
            outcome = await reconcile.run(
                _context(memo),
                owner=body,
                children=children,
                secrets=secrets,
                trigger=trigger,
                logger=logger,
            )
        except reconcile.InvalidPlatformError as exc:
            kopf.warn(body, reason="InvalidSpec", message=str(exc))
            raise kopf.PermanentError(str(exc)) from exc
        except reconcile.NotYetError as exc:
            raise kopf.TemporaryError(str(exc), delay=exc.delay) from exc
        except k8s_apply.ApiError as exc:
            # Growing delay: a refused request (quota, a webhook, a conflict) is retried,
            # never in a tight loop.
            raise kopf.TemporaryError(str(exc), delay=min(300.0, 5.0 * 2**retry)) from exc
    _post_events(body, outcome.events)
    if outcome.retry is not None:
        # Some children were refused (the status names them): retry with a growing delay.
        raise kopf.TemporaryError(outcome.retry, delay=min(300.0, 5.0 * 2**retry))


def _post_events(body: kopf.Body, events: Iterable[status_mod.Transition]) -> None:
    for event in events:
        if event.warning:
            kopf.warn(body, reason=event.reason, message=event.message)
        else:
            kopf.info(body, reason=event.reason, message=event.message)
