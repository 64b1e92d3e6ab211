"""The whole desired state of a platform: every child, grouped in the order to apply them.

`desired_children` is what the reconcile calls once per pass; everything it returns is
built by the pure builders next to it. The order of the groups is the order of
dependencies: settings and Secrets before the pods that read them, the database and the
cache before the migrations, the migrations before the application that needs the
schema, and the NetworkPolicies last (they only admit traffic; nothing waits on them).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import Literal

from journal_operator import spec
from journal_operator.builders import (
    api,
    cnpg,
    config,
    inference,
    migrations,
    network,
    postgres,
    redis,
    worker,
)
from journal_operator.builders import secrets as secrets_mod
from journal_operator.manifests import Manifest

InferenceMode = Literal["kserve", "deployment"]


class Step(enum.StrEnum):
    """Groups of children, in the order they are applied."""

    CONFIG = "config"
    DATABASE = "database"
    CACHE = "cache"
    MIGRATIONS = "migrations"
    APP = "app"
    INFERENCE = "inference"
    NETWORK = "network"


@dataclasses.dataclass(frozen=True)
class Group:
    """The children of one step."""

    step: Step
    manifests: tuple[Manifest, ...]


def desired_children(
    p: spec.Platform,
    *,
    secrets: secrets_mod.GeneratedSecrets,
    version: str | None,  # None: the schema is not migrated yet, leave API and worker out
    migrate: bool,  # include the migrations Job for spec.version
    inference_mode: InferenceMode,
    images: spec.ResolvedImages | None = None,
    hpa_owns_replicas: bool = False,
    database_claim: str | None = None,
) -> list[Group]:
    """Every child the platform should have right now, grouped by `Step` in apply order.

    Args:
        p: The parsed platform.
        secrets: Generated secret values (read back from the Secrets after the first pass).
        version: The version the API and the worker run (the previous one until the
            migrations of `spec.version` succeeded); None leaves them out. Model servers
            run it too, or `spec.version` while it is None.
        migrate: Whether to include the migrations Job of `spec.version`.
        inference_mode: How to run the model servers; see `resolve_inference_mode`.
        images: The API and worker images to run with `version` (the running release's
            until the migrations of the spec's release succeeded); None resolves them from
            `spec.images` for `version`.
        hpa_owns_replicas: The API's HPA exists and has acted: stop setting its replicas.
        database_claim: The storage in the existing PostgreSQL StatefulSet's claim template
            (immutable); None for a new one.

    Returns:
        One `Group` per `Step`, in `Step` order; a group may be empty.
    """
    groups = {
        Step.CONFIG: _config(p, secrets),
        Step.DATABASE: _database(p, claim=database_claim),
        Step.CACHE: _cache(p),
        Step.MIGRATIONS: _migrations(p) if migrate else [],
        Step.APP: _app(
            p,
            version=version,
            images=images,
            config_hash=config.config_hash(p, secrets),
            hpa_owns_replicas=hpa_owns_replicas,
        ),
        Step.INFERENCE: _inference(p, version=version or p.spec.version, mode=inference_mode),
        Step.NETWORK: network.network_policies(p)
        + ([cnpg.network_policy(p)] if p.spec.database.mode == "cnpg" else []),
    }
    return [Group(step, tuple(groups[step])) for step in Step]


def flatten(groups: Iterable[Group]) -> list[Manifest]:
    """All manifests of `groups`, in order."""
    return [manifest for group in groups for manifest in group.manifests]


def resolve_inference_mode(p: spec.Platform, *, kserve_installed: bool) -> InferenceMode:
    """`spec.inference.mode`, with `auto` decided by whether KServe's CRD is installed."""
    mode = p.spec.inference.mode
    if mode == "auto":
        return "kserve" if kserve_installed else "deployment"
    return mode


def _config(p: spec.Platform, secrets: secrets_mod.GeneratedSecrets) -> list[Manifest]:
    children = [config.api_config(p), secrets_mod.jwt_secret(p, secrets)]
    if p.spec.cache.mode == "managed":
        children.append(secrets_mod.cache_secret(p, secrets))
    if p.spec.database.generated_credentials:
        children.append(secrets_mod.database_secret(p, secrets))
    return children


def _database(p: spec.Platform, *, claim: str | None) -> list[Manifest]:
    if p.spec.database.mode == "cnpg":
        return cnpg.children(p)
    if p.spec.database.mode != "managed":
        return []
    return [
        postgres.database_init_config(p),
        postgres.database_service(p),
        postgres.database_statefulset(p, claim_storage=claim),
    ]


def _cache(p: spec.Platform) -> list[Manifest]:
    if p.spec.cache.mode != "managed":
        return []
    return [redis.cache_service(p), redis.cache_deployment(p)]


def _migrations(p: spec.Platform) -> list[Manifest]:
    version = p.spec.version
    image = p.spec.images.resolve(version).migrations
    return [migrations.migrations_job(p, image=image, version=version)]


def _app(
    p: spec.Platform,
    *,
    version: str | None,
    images: spec.ResolvedImages | None,
    config_hash: str,
    hpa_owns_replicas: bool,
) -> list[Manifest]:
    if version is None:
        return []
    images = images or p.spec.images.resolve(version)
    children = [
        api.api_service(p),
        api.api_deployment(
            p,
            image=images.api,
            version=version,
            config_hash=config_hash,
            hpa_owns_replicas=hpa_owns_replicas,
        ),
        api.api_pod_disruption_budget(p),
        worker.worker_deployment(p, image=images.worker, version=version, config_hash=config_hash),
    ]
    # The HPA before the Deployment: it must exist (and act) before the Deployment stops
    # setting its replicas.
    autoscaler = api.api_autoscaler(p)
    ingress = api.api_ingress(p)
    return (
        ([autoscaler] if autoscaler is not None else [])
        + children
        + ([ingress] if ingress is not None else [])
    )


def _inference(p: spec.Platform, *, version: str, mode: InferenceMode) -> list[Manifest]:
    image = p.spec.images.resolve(version).inference
    children: list[Manifest] = []
    for model in p.spec.inference.models:
        if mode == "kserve":
            children.append(inference.inference_service(p, model, image=image, version=version))
        else:
            children += [
                inference.model_service(p, model),
                inference.model_deployment(p, model, image=image, version=version),
                inference.model_autoscaler(p, model),
            ]
    return children
