"""One level-based, idempotent reconcile pass for a JournalPlatform, as named steps.

Called by every handler in ``handlers.py`` (create, update, resume, the per-platform daemon)
with the owner's body and its children as last seen by the watches. The steps run in
CloudNativePG's order: parse, observe, wait_for_prerequisites, apply_children, write_status.
Each pass recomputes everything from the spec and the observed state, so running it twice,
or after a crash halfway through, converges to the same objects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from journal_operator import (
    applying,
    cnpg_status,
    finalizing,
    health,
    metrics,
    naming,
    observe,
    rollout,
    secrets_gen,
    spec,
)
from journal_operator import settings as settings_mod
from journal_operator import status as status_mod
from journal_operator.builders import api as api_builders
from journal_operator.builders import cnpg as builders_cnpg
from journal_operator.builders import plan, postgres
from journal_operator.builders import secrets as secret_builders
from journal_operator.k8s import apply as k8s
from journal_operator.k8s import client as k8s_client
from journal_operator.manifests import Manifest, ref

KSERVE_API = "serving.kserve.io/v1beta1"
KSERVE_RECHECK_SECONDS = 60.0
# Kinds removed when the spec no longer asks for them (an Ingress disabled, a model dropped).
# Never Jobs (a failed migration Job must stay, or it would be re-run in a loop), Secrets or
# StatefulSets (data).
PRUNABLE = frozenset(
    {
        "Deployment",
        "Service",
        "ConfigMap",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Ingress",
        "InferenceService",
        "ScheduledBackup",  # a schedule removed; the Cluster (data) is never pruned
    }
)


class InvalidPlatformError(Exception):
    """The spec cannot be reconciled as written (the API server should have refused it)."""


class SecretConflictError(Exception):
    """A generated Secret cannot be used or created safely; the message says what to do."""


class NotYetError(Exception):
    """A prerequisite is missing; retry after ``delay`` seconds."""

    def __init__(self, message: str, *, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


@dataclasses.dataclass
class Context:
    """Process-wide state a pass needs besides the owner: client, settings, small caches."""

    client: k8s_client.Client
    settings: settings_mod.OperatorSettings
    applier: applying.Applier
    # (namespace, name, Secrets' resourceVersions...) -> digest of the values read back
    # (GeneratedSecrets.without_values: no value is kept between passes).
    generated: dict[tuple[str, ...], secret_builders.GeneratedSecrets] = dataclasses.field(
        default_factory=dict
    )
    # Bounds the passes in flight (API calls, CPU) however many platforms change at once.
    slots: asyncio.Semaphore = dataclasses.field(default_factory=lambda: asyncio.Semaphore(10))
    kserve_installed: bool | None = None
    # (namespace, name) -> the migrated version recorded on the platform's JWT Secret.
    migrated_records: dict[tuple[str, str], str | None] = dataclasses.field(default_factory=dict)
    kserve_checked_at: float = 0.0
    # (namespace, platform, size) whose database volume was grown / (ns, claim, size) refused.
    volumes_grown: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    volumes_refused: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    # Events to post with the next status write, per platform (one-off facts, not flips).
    notices: dict[tuple[str, str], list[status_mod.Transition]] = dataclasses.field(
        default_factory=dict
    )
    cnpg_installed: bool = False
    cnpg_checked_at: float = -KSERVE_RECHECK_SECONDS

    def forget(self, namespace: str, name: str) -> None:
        """Drop every cache entry of a deleted platform."""
        self.applier.forget(namespace, name)
        for key in [k for k in self.generated if k[:2] == (namespace, name)]:
            del self.generated[key]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a pass concluded: the phase, and the Events worth posting about it."""

    phase: str
    events: Sequence[status_mod.Transition]
    # Set when a child was refused: the Events are still posted, then the pass is retried
    # with backoff like any refused request.
    retry: str | None = None


async def run(
    ctx: Context,
    *,
    owner: Mapping[str, Any],
    children: Iterable[Mapping[str, Any]],
    secrets: Mapping[str, str],
    trigger: str,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> Outcome:
    """Run one pass for ``owner``.

    Args:
        ctx: the operator's client, settings and caches.
        owner: the JournalPlatform body.
        children: bodies of its children, as cached by the watches.
        secrets: generated Secrets that exist, name -> resourceVersion (values are not cached).
        trigger: what caused the pass (create, update, resume, child, resync), for metrics.
        logger: the per-object logger.

    Raises:
        InvalidPlatformError: the spec is invalid; retrying will not help.
        NotYetError: a prerequisite (a user's Secret) is missing.
        k8s.ApiError: the API server refused a request.
    """
    async with ctx.slots:
        return await _run(
            ctx, owner=owner, children=children, secrets=secrets, trigger=trigger, logger=logger
        )


async def _run(
    ctx: Context,
    *,
    owner: Mapping[str, Any],
    children: Iterable[Mapping[str, Any]],
    secrets: Mapping[str, str],
    trigger: str,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> Outcome:
    with metrics.timed_reconcile(trigger) as result:
        # Parse first: nothing below means anything for a spec that does not validate.
        p = await parse(ctx, owner)
        # Observe once, before any decision (CNPG's managed-resources snapshot).
        observed = observe.observe(children, secrets=secrets)
        current = dict(owner.get("status") or {})
        if p.spec.paused:
            # Paused means hands off: report, change nothing.
            result["result"] = "paused"
            return await write_status(
                ctx,
                p,
                current,
                observed=observed,
                decision=None,
                inference_mode=current.get("inferenceMode"),
                paused=True,
            )
        # Prerequisites before any write: half a platform is worse than none.
        inference_mode = await wait_for_prerequisites(ctx, p, owner=owner, current=current)
        kserve_missing = inference_mode == "kserve" and not await _kserve_installed(ctx)
        try:
            generated = await ensure_secrets(ctx, p, observed)
        except SecretConflictError as exc:
            await _write_pending(ctx, p, current, str(exc))
            raise NotYetError(str(exc), delay=60) from exc
        await grow_database_volumes(ctx, p, observed, logger=logger)
        recorded = ctx.migrated_records.get((p.namespace, p.name))
        decision = decide_versions(p, observed, current, recorded=recorded)
        failures = await apply_children(
            ctx,
            p,
            observed,
            decision=decision,
            generated=generated,
            inference_mode=inference_mode,
            logger=logger,
            skip_kinds=frozenset({"InferenceService"}) if kserve_missing else frozenset(),
        )
        pods = await _pods_with_problems(ctx, p, observed)
        # Status last: it reports what was observed and what this pass decided.
        outcome = await write_status(
            ctx,
            p,
            current,
            observed=observed,
            decision=decision,
            inference_mode=inference_mode,
            facts=status_mod.PassFacts(
                failures=tuple(failures), pods=tuple(pods), kserve_missing=kserve_missing
            ),
        )
        await _record_migrated(ctx, p, decision, recorded)
        if failures:
            # Reported in status; the pass is retried with backoff like any refused request.
            result["result"] = "error"
            return dataclasses.replace(
                outcome,
                retry="; ".join(f"{f.kind} {f.name}: {f.message}" for f in failures),
            )
        result["result"] = "ok"
        return outcome


async def parse(ctx: Context, owner: Mapping[str, Any]) -> spec.Platform:
    """Typed platform, or a Failed status and ``InvalidPlatformError``."""
    try:
        return spec.parse(owner)
    except spec.InvalidSpec as exc:
        current = dict(owner.get("status") or {})
        meta = owner.get("metadata") or {}
        conds = {
            status_mod.ConditionType.READY: status_mod.Condition(
                status_mod.ConditionType.READY, "False", status_mod.Reason.INVALID_SPEC, str(exc)
            )
        }
        desired = {
            "observedGeneration": int(meta.get("generation") or 0),
            "phase": str(status_mod.Phase.FAILED),
            "phaseReason": f"invalid spec: {exc}",
            "conditions": status_mod.render_conditions(
                conds,
                existing=current.get("conditions") or [],
                now=_now(),
                generation=int(meta.get("generation") or 0),
            ),
        }
        if status_mod.differs(current, desired):
            await k8s.patch_merge(
                ctx.client,
                api_version=naming.API_VERSION,
                kind=naming.KIND,
                namespace=meta.get("namespace"),
                name=str(meta.get("name")),
                patch={"status": desired},
                subresource="status",
            )
        raise InvalidPlatformError(str(exc)) from exc


async def wait_for_prerequisites(
    ctx: Context, p: spec.Platform, *, owner: Mapping[str, Any], current: Mapping[str, Any]
) -> plan.InferenceMode:
    """Check the user's Secrets exist and resolve the inference mode.

    Returns:
        ``"kserve"`` or ``"deployment"``.

    Raises:
        NotYetError: a referenced Secret is missing (status says which, phase Pending).
    """
    missing = []
    for block in (p.spec.database, p.spec.cache):
        if block.mode == "external" and block.external is not None:
            ref_ = block.external.secret_ref
            found = await k8s.get(
                ctx.client, api_version="v1", kind="Secret", namespace=p.namespace, name=ref_.name
            )
            if found is None or ref_.key not in (found.get("data") or {}):
                missing.append(f"Secret {ref_.name} with key {ref_.key}")
    if p.spec.database.mode == "cnpg":
        if not await _cnpg_installed(ctx):
            message = cnpg_status.not_installed_message()
            await _write_pending(ctx, p, current, message)
            raise NotYetError(message, delay=30)
        backup = p.spec.database.cnpg_or_default.backup
        if backup is not None:
            creds = backup.s3_credentials
            found = await k8s.get(
                ctx.client,
                api_version="v1",
                kind="Secret",
                namespace=p.namespace,
                name=creds.secret_name,
            )
            keys = set((found or {}).get("data") or {})
            del found  # the object store's keys: only their names are needed
            for key in (creds.access_key_id_key, creds.secret_access_key_key):
                if key not in keys:
                    missing.append(f"Secret {creds.secret_name} with key {key} (backup)")
    if missing:
        message = "waiting for " + ", ".join(missing)
        await _write_pending(ctx, p, current, message)
        raise NotYetError(message, delay=15)
    recorded = current.get("inferenceMode")
    if p.spec.inference.mode == "auto" and recorded in ("kserve", "deployment"):
        # Decided once: installing (or removing) KServe later never flips a running platform.
        return choose_inference_mode(p, recorded=recorded, kserve_installed=False)
    return choose_inference_mode(
        p, recorded=recorded, kserve_installed=await _kserve_installed(ctx)
    )


def choose_inference_mode(
    p: spec.Platform, *, recorded: Any, kserve_installed: bool
) -> plan.InferenceMode:
    """``spec.inference.mode``; ``auto`` keeps the mode recorded in status once decided."""
    if p.spec.inference.mode == "auto" and recorded in ("kserve", "deployment"):
        return "kserve" if recorded == "kserve" else "deployment"
    return plan.resolve_inference_mode(p, kserve_installed=kserve_installed)


async def _cnpg_installed(ctx: Context) -> bool:
    # Like KServe: asked again at most once a minute while it is missing.
    if not ctx.cnpg_installed and time.monotonic() - ctx.cnpg_checked_at > KSERVE_RECHECK_SECONDS:
        ctx.cnpg_installed = await k8s.api_group_served(
            ctx.client, api_version=builders_cnpg.API_VERSION, kind="Cluster"
        )
        ctx.cnpg_checked_at = time.monotonic()
    return ctx.cnpg_installed


async def _kserve_installed(ctx: Context) -> bool:
    # Asked at most once a minute: a CRD installed later is picked up without a restart.
    if (
        ctx.kserve_installed is None
        or time.monotonic() - ctx.kserve_checked_at > KSERVE_RECHECK_SECONDS
    ):
        ctx.kserve_installed = await k8s.api_group_served(
            ctx.client, api_version=KSERVE_API, kind="InferenceService"
        )
        ctx.kserve_checked_at = time.monotonic()
    return ctx.kserve_installed


async def ensure_secrets(
    ctx: Context, p: spec.Platform, observed: observe.Observed
) -> secret_builders.GeneratedSecrets:
    """Create the generated Secrets if absent (never overwrite); return their values.

    Values are read back from the existing Secrets, so a restarted operator keeps them.
    """
    db_name, jwt_name = naming.database_secret_name(p), naming.jwt_secret_name(p)
    cache_name = naming.cache_secret_name(p)
    needs_db = p.spec.database.generated_credentials
    needs_cache = p.spec.cache.mode == "managed"
    key = (
        p.namespace,
        p.name,
        observed.secrets_version(db_name),
        observed.secrets_version(jwt_name),
        observed.secrets_version(cache_name),
        p.spec.deletion_policy,  # a changed policy reads (and fixes the ownership of) them again
    )
    if (
        key in ctx.generated
        and (not needs_db or observed.has("Secret", db_name))
        and (not needs_cache or observed.has("Secret", cache_name))
        and observed.has("Secret", jwt_name)
    ):
        return ctx.generated[key]
    db_body = await _get_secret(ctx, p, db_name) if needs_db else None
    jwt_body = await _get_secret(ctx, p, jwt_name)
    if jwt_body is not None:
        annotations = (jwt_body.get("metadata") or {}).get("annotations") or {}
        ctx.migrated_records[(p.namespace, p.name)] = annotations.get(MIGRATED_ANNOTATION)
    cache_body = await _get_secret(ctx, p, cache_name) if needs_cache else None
    values = secrets_gen.combine(
        database_data=(db_body or {}).get("data") if db_body else None,
        jwt_data=(jwt_body or {}).get("data") if jwt_body else None,
        need_database=needs_db,
        cache_data=(cache_body or {}).get("data") if cache_body else None,
        need_cache=needs_cache,
    )
    if needs_db and db_body is None and p.spec.database.mode == "managed":
        await _refuse_if_volume_remains(ctx, p, db_name)
    created = []
    if needs_db and db_body is None:
        created.append(await k8s.create(ctx.client, secret_builders.database_secret(p, values)))
    if jwt_body is None:
        created.append(await k8s.create(ctx.client, secret_builders.jwt_secret(p, values)))
    if needs_cache and cache_body is None:
        created.append(await k8s.create(ctx.client, secret_builders.cache_secret(p, values)))
    if any(body is None for body in created):
        # Someone created it between our read and our create: its values win; read again.
        return await ensure_secrets(ctx, p, observed)
    if (
        jwt_body is not None
        and (db_body is not None or not needs_db)
        and (cache_body is not None or not needs_cache)
    ):
        # Only the digest stays in memory between passes (what the next pass needs: the pods'
        # config hash); the values go with this pass.
        ctx.generated[key] = values.without_values()
    return values


async def grow_database_volumes(
    ctx: Context,
    p: spec.Platform,
    observed: observe.Observed,
    *,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    """Grow the managed database's volume to ``storage`` by patching its claim.

    A StatefulSet's claim template never changes, so the StatefulSet keeps the size it was
    created with (``plan`` passes it on) and the claim itself is patched; Kubernetes then
    expands the volume where its StorageClass allows expansion, and refuses the patch where it
    does not: the refusal is logged as a warning Event on the platform, once per size.
    Costs no request unless ``storage`` is above the template's size and not reached yet.
    """
    if p.spec.database.mode != "managed":
        return
    name = naming.database_name(p)
    template = postgres.claim_template_storage(observed.body("StatefulSet", name))
    want = p.spec.database.managed_or_default.storage
    done_key = (p.namespace, p.name, want)
    if template is None or done_key in ctx.volumes_grown:
        return
    if postgres.quantity_bytes(want) <= postgres.quantity_bytes(template):
        return
    claims = await k8s.list_objects(
        ctx.client,
        api_version="v1",
        kind="PersistentVolumeClaim",
        namespace=p.namespace,
        label_selector=naming.selector_string(p, naming.Component.DATABASE),
    )
    refused = False
    for claim, current, size in postgres.claims_to_grow(p, claims):
        try:
            await k8s.patch_merge(
                ctx.client,
                api_version="v1",
                kind="PersistentVolumeClaim",
                namespace=p.namespace,
                name=claim,
                patch={"spec": {"resources": {"requests": {"storage": size}}}},
            )
            logger.info("growing PersistentVolumeClaim %s from %s to %s", claim, current, size)
        except k8s.ApiError as exc:
            refused = True
            if (p.namespace, claim, size) not in ctx.volumes_refused:
                ctx.volumes_refused.add((p.namespace, claim, size))
                message = (
                    f"cannot grow PersistentVolumeClaim {claim} from {current} to {size}: "
                    f"{exc.message}"
                )
                logger.warning("%s", message)
                ctx.notices.setdefault((p.namespace, p.name), []).append(
                    status_mod.Transition(
                        warning=True, reason="VolumeExpansionRefused", message=message
                    )
                )
    if not refused:
        ctx.volumes_grown.add(done_key)


# On the platform's JWT Secret (always generated, kept with the data under Retain): the
# newest version whose migrations completed.
MIGRATED_ANNOTATION = f"{naming.GROUP}/migrated-version"


async def _record_migrated(
    ctx: Context, p: spec.Platform, decision: rollout.Decision, recorded: str | None
) -> None:
    migrated = decision.migrated
    if migrated is None or migrated == recorded:
        return
    if recorded is not None and not rollout.is_downgrade(recorded, migrated):
        return  # never lower the record
    await k8s.patch_merge(
        ctx.client,
        api_version="v1",
        kind="Secret",
        namespace=p.namespace,
        name=naming.jwt_secret_name(p),
        patch={"metadata": {"annotations": {MIGRATED_ANNOTATION: migrated}}},
    )
    ctx.migrated_records[(p.namespace, p.name)] = migrated


async def _refuse_if_volume_remains(ctx: Context, p: spec.Platform, secret: str) -> None:
    # The database Secret is missing: fine for a new platform, fatal to generate anew when
    # PostgreSQL's volume (and the password it was initialised with) is still there.
    claims = await k8s.list_objects(
        ctx.client,
        api_version="v1",
        kind="PersistentVolumeClaim",
        namespace=p.namespace,
        label_selector=naming.selector_string(p, naming.Component.DATABASE),
    )
    names = sorted(str(c["metadata"]["name"]) for c in claims)
    if names:
        raise SecretConflictError(secret_builders.lost_secret(p, secret, names))


async def _get_secret(ctx: Context, p: spec.Platform, name: str) -> Manifest | None:
    body = await k8s.get(
        ctx.client, api_version="v1", kind="Secret", namespace=p.namespace, name=name
    )
    conflict = secret_builders.foreign_secret(p, body) if body is not None else None
    if conflict is not None:
        raise SecretConflictError(conflict)
    retain = p.spec.deletion_policy == "Retain"
    labels = ((body or {}).get("metadata") or {}).get("labels") or {}
    if body is not None and (_owned_by(body, p) == retain or finalizing.RETAINED_LABEL in labels):
        # A Secret retained from an earlier platform of the same name, or deletionPolicy
        # changed: Delete puts our owner reference on it, Retain keeps it off (so garbage
        # collection can never take it), and either way it is in use again.
        await k8s.patch_merge(
            ctx.client,
            api_version="v1",
            kind="Secret",
            namespace=p.namespace,
            name=name,
            patch={
                "metadata": {
                    "ownerReferences": None if retain else [naming.owner_reference(p)],
                    "labels": {finalizing.RETAINED_LABEL: None},
                }
            },
        )
    return body


def _owned_by(body: Mapping[str, Any], p: spec.Platform) -> bool:
    refs = (body.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("uid") == p.uid for r in refs)


def decide_versions(
    p: spec.Platform,
    observed: observe.Observed,
    current: Mapping[str, Any],
    *,
    recorded: str | None = None,
) -> rollout.Decision:
    """Which release the API serves and whether migrations run (see ``rollout``).

    ``recorded`` is the migrated version kept on the JWT Secret (``MIGRATED_ANNOTATION``):
    it outlives the status, so a platform re-created over retained data still refuses a
    downgrade below the schema.
    """
    versions = dict(current.get("version") or {})
    if recorded is not None and (
        versions.get("migrated") is None or rollout.is_downgrade(versions["migrated"], recorded)
    ):
        versions["migrated"] = recorded
    api = observed.workload("Deployment", naming.api_name(p))
    running = versions.get("running") or (api.version if api is not None else None)
    job_name = naming.migrations_job_name(p, p.spec.version)
    previous = (current.get("components") or {}).get("migrations") or {}
    lost_failure = None
    if previous.get("job") == job_name and previous.get("state") == "Failed":
        lost_failure = f"{previous.get('reason') or 'Failed'}: {previous.get('message') or ''}"
    return rollout.decide(
        desired=p.spec.version,
        running=running,
        migrated=versions.get("migrated"),
        job=observed.job(job_name),
        images=p.spec.images.resolve(p.spec.version),
        running_images=_running_images(p, observed, versions, running),
        migrated_image=versions.get("migratedImage"),
        database_ready=health.database(p, observed).verdict.status == "True",
        job_name=job_name,
        lost_failure=lost_failure,
    )


def _running_images(
    p: spec.Platform,
    observed: observe.Observed,
    versions: Mapping[str, Any],
    running: str | None,
) -> spec.ResolvedImages | None:
    # What is served now: recorded in status by the pass that applied it, else what the
    # Deployments run (a status written before images were recorded), else nothing.
    if running is None:
        return None
    recorded = versions.get("images") or {}
    api = observed.workload("Deployment", naming.api_name(p))
    worker = observed.workload("Deployment", naming.worker_name(p))
    api_image = recorded.get("api") or (api.images[0] if api is not None and api.images else None)
    worker_image = recorded.get("worker") or (
        worker.images[0] if worker is not None and worker.images else None
    )
    if api_image is None or worker_image is None:
        return None
    resolved = p.spec.images.resolve(running)
    return spec.ResolvedImages(
        api=api_image,
        worker=worker_image,
        migrations=resolved.migrations,
        inference=resolved.inference,
    )


async def apply_children(
    ctx: Context,
    p: spec.Platform,
    observed: observe.Observed,
    *,
    decision: rollout.Decision,
    generated: secret_builders.GeneratedSecrets,
    inference_mode: plan.InferenceMode,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    skip_kinds: frozenset[str] = frozenset(),
) -> list[status_mod.ApplyFailure]:
    """Apply every child that is missing or drifted, group by group, then prune leftovers.

    NetworkPolicies go first (no pod ever runs unprotected), then the plan's order (config,
    database, cache, migrations, app, inference) so that what a later group mounts exists
    before it. Secrets are never applied: ``ensure_secrets`` created them once. A child the
    API server refuses does not stop the pass: every other child is still applied, and the
    refusals are returned, with the server's message, for the status.
    """
    failures: list[status_mod.ApplyFailure] = []
    groups = plan.desired_children(
        p,
        secrets=generated,
        version=decision.serve,
        migrate=decision.migrate,
        inference_mode=inference_mode,
        images=decision.images,
        hpa_owns_replicas=_hpa_acted(p, observed),
        database_claim=postgres.claim_template_storage(
            observed.body("StatefulSet", naming.database_name(p))
        ),
    )
    wanted: set[tuple[str, str]] = set()
    network_first = sorted(groups, key=lambda g: g.step != plan.Step.NETWORK)
    for group in network_first:
        for manifest in group.manifests:
            identity = ref(manifest)
            wanted.add((identity.kind, identity.name))
            if identity.kind == "Secret" or identity.kind in skip_kinds:
                continue
            try:
                await _apply_child(ctx, p, observed, manifest, logger=logger)
            except k8s.ApiError as exc:
                logger.warning("%s %s was refused: %s", identity.kind, identity.name, exc)
                failures.append(status_mod.ApplyFailure(identity.kind, identity.name, str(exc)))
    for (kind, name), _body in list(observed.objects.items()):
        if (
            kind in PRUNABLE
            and (kind, name) not in wanted
            and not _keep_during_rollout(p, kind, name, decision)
        ):
            logger.info("deleting %s %s: the spec no longer asks for it", kind, name)
            try:
                await k8s.delete(
                    ctx.client,
                    api_version=str(_body.get("apiVersion")),
                    kind=kind,
                    namespace=p.namespace,
                    name=name,
                )
            except k8s.ApiError as exc:
                failures.append(status_mod.ApplyFailure(kind, name, f"delete refused: {exc}"))
    return failures


async def _apply_child(
    ctx: Context,
    p: spec.Platform,
    observed: observe.Observed,
    manifest: Manifest,
    *,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    identity = ref(manifest)
    if identity.kind == "Job":
        # Created once per release, never re-applied: a Job's pod template is
        # immutable, so applying an edited spec to a running Job is refused (422).
        if not observed.has("Job", identity.name) and await k8s.create(ctx.client, manifest):
            metrics.APPLIES.labels(kind="Job").inc()
        return
    actual = observed.body(identity.kind, identity.name)
    if identity.kind == "Deployment" and identity.name == naming.api_name(p):
        await _hand_replicas_over(ctx, manifest, actual)
    await ctx.applier.apply_if_drifted(manifest, actual, logger=logger)


async def _pods_with_problems(
    ctx: Context, p: spec.Platform, observed: observe.Observed
) -> list[Manifest]:
    """The platform's Pods, read only while a workload or Job is not done (for their reasons).

    A healthy platform costs no request. A failed read only loses detail in the status.
    """
    workloads = [
        observe.workload_facts(body)
        for kind in ("Deployment", "StatefulSet")
        for body in observed.of_kind(kind)
    ]
    jobs = [observe.job_facts(body) for body in observed.of_kind("Job")]
    if all(w.rolled_out for w in workloads) and not any(j.active for j in jobs):
        return []
    selector = ",".join(f"{k}={v}" for k, v in naming.platform_selector(p).items())
    try:
        return await k8s.list_objects(
            ctx.client,
            api_version="v1",
            kind="Pod",
            namespace=p.namespace,
            label_selector=selector,
        )
    except k8s.ApiError:
        return []


# The field manager that keeps the API's replicas between the operator and its HPA.
HANDOVER_MANAGER = "journal-operator-hpa-handover"


def _hpa_acted(p: spec.Platform, observed: observe.Observed) -> bool:
    # The HPA controller has written the HPA's status: it now keeps the replicas in range.
    if not p.spec.api.autoscaling.enabled:
        return False
    hpa = observed.body("HorizontalPodAutoscaler", naming.api_name(p))
    status = (hpa or {}).get("status") or {}
    return "desiredReplicas" in status or "currentReplicas" in status


async def _hand_replicas_over(
    ctx: Context, manifest: Manifest, actual: Mapping[str, Any] | None
) -> None:
    """Before the API Deployment stops setting replicas, hand the field to another manager.

    Server-side apply removes a field its only manager stops setting, and the Deployment
    would fall back to one replica; the HPA takes the field only when it changes the count.
    Kubernetes' documented handover: a second manager applies the current value first.
    """
    if actual is None or "replicas" in manifest["spec"]:
        return
    annotations = (actual.get("metadata") or {}).get("annotations") or {}
    if annotations.get(api_builders.REPLICAS_OWNER_ANNOTATION) == "hpa":
        return
    replicas = (actual.get("spec") or {}).get("replicas")
    if replicas is None:
        return
    meta = manifest["metadata"]
    await k8s.apply(
        ctx.client,
        {
            "apiVersion": manifest["apiVersion"],
            "kind": manifest["kind"],
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "spec": {"replicas": replicas},
        },
        field_manager=HANDOVER_MANAGER,
    )


def _keep_during_rollout(
    p: spec.Platform, kind: str, name: str, decision: rollout.Decision
) -> bool:
    # While nothing is served yet (first install), the plan leaves the API and worker out:
    # that is "not yet", not "remove".
    return (
        decision.serve is None
        and kind == "Deployment"
        and name in (naming.api_name(p), naming.worker_name(p))
    )


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def write_status(
    ctx: Context,
    p: spec.Platform,
    current: Mapping[str, Any],
    *,
    observed: observe.Observed,
    decision: rollout.Decision | None,
    inference_mode: str | None,
    paused: bool = False,
    facts: status_mod.PassFacts | None = None,
) -> Outcome:
    """Patch the status when it differs from the stored one; return the Events to post."""
    if paused or decision is None:
        desired = status_mod.paused(p, current=current, now=_now())
    else:
        desired = status_mod.compute(
            p,
            observed,
            decision=decision,
            inference_mode=inference_mode,
            current=current,
            now=_now(),
            facts=facts,
        )
    await _patch_status(ctx, p, current, desired, complete=not (paused or decision is None))
    events = status_mod.transitions(current, desired) + ctx.notices.pop((p.namespace, p.name), [])
    return Outcome(phase=str(desired["phase"]), events=events)


async def _write_pending(
    ctx: Context, p: spec.Platform, current: Mapping[str, Any], message: str
) -> None:
    await _patch_status(
        ctx, p, current, status_mod.pending(p, current=current, message=message, now=_now())
    )


async def _patch_status(
    ctx: Context,
    p: spec.Platform,
    current: Mapping[str, Any],
    desired: Mapping[str, Any],
    *,
    complete: bool = False,
) -> None:
    metrics.record_phase(
        (p.namespace, p.name), str(desired.get("phase")), desired.get("conditions")
    )
    # Only what changed, with removed fields set to null: nothing stale stays behind, and a
    # pass that changed nothing writes nothing.
    patch = status_mod.merge_patch(current, desired, complete=complete)
    if not patch:
        return
    await k8s.patch_merge(
        ctx.client,
        api_version=naming.API_VERSION,
        kind=naming.KIND,
        namespace=p.namespace,
        name=p.name,
        patch={"status": patch},
        subresource="status",
    )
