"""Every name, label, selector and annotation key the operator gives its children.

The only place they are spelled: builders, the reconcile, observers and tests all ask this
module, so a child can always be found again from its platform. Child names are
`<platform>-<suffix>`, DNS-1123 labels of at most 63 characters; a name that would be
longer is cut and given a hash suffix, so two long names never collide.
"""

from __future__ import annotations

import enum
import re

from journal_operator import hashing, spec

GROUP = "journalplatform.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "JournalPlatform"
PLURAL = "journalplatforms"
FIELD_MANAGER = "journal-operator"
# The `app.kubernetes.io/managed-by` value on every child: the same name as the field manager.
MANAGER = FIELD_MANAGER
PART_OF = "journal-platform"

# Standard labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_VERSION = "app.kubernetes.io/version"
# Our own keys.
LABEL_MODEL = f"{GROUP}/model"
SPEC_HASH_ANNOTATION = f"{GROUP}/spec-hash"
VERSION_ANNOTATION = f"{GROUP}/version"

MAX_NAME = 63
# A StatefulSet's pods carry `controller-revision-hash: <name>-<10 chars>`, a label value
# limited to 63 characters.
MAX_STATEFULSET_NAME = 52


class Component(enum.StrEnum):
    """The parts of a platform; the value is the `app.kubernetes.io/component` label."""

    DATABASE = "database"
    CACHE = "cache"
    MIGRATIONS = "migrations"
    API = "api"
    WORKER = "worker"
    MODEL = "model"


# `app.kubernetes.io/name` is the application a pod runs (Kubernetes' recommended labels).
APP_NAMES: dict[Component, str] = {
    Component.DATABASE: "postgresql",
    Component.CACHE: "redis",
    Component.MIGRATIONS: "journal-migrations",
    Component.API: "journal-api",
    Component.WORKER: "journal-worker",
    Component.MODEL: "journal-inference",
}


def child_name(p: spec.Platform, suffix: str, *, max_length: int = MAX_NAME) -> str:
    """`<platform>-<suffix>`, cut to `max_length` with a hash suffix when too long."""
    return dns_label(f"{p.name}-{suffix}", max_length=max_length)


def dns_label(name: str, *, max_length: int = MAX_NAME) -> str:
    """`name` as a DNS-1123 label of at most `max_length` characters.

    Characters other than lowercase letters, digits and '-' become '-'. A name that is
    too long keeps its start and ends in '-' plus 8 hex characters of its digest.
    """
    clean = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-") or "x"
    if len(clean) <= max_length:
        return clean
    suffix = hashing.digest(name, length=8)
    return f"{clean[: max_length - len(suffix) - 1].rstrip('-')}-{suffix}"


def version_slug(version: str) -> str:
    """`version` usable inside a name: 1.4.0 gives 1-4-0.

    When the mapping loses information (1.4.0-rc.1 and 1.4.0-rc-1 would both give
    1-4-0-rc-1), a short digest of the exact version is appended.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")
    if re.fullmatch(r"v?[0-9]+(\.[0-9]+)*", version):
        return slug
    return f"{slug}-{hashing.digest(version, length=6)}"


# Child names, one function each so that no caller ever formats a name itself.
def api_name(p: spec.Platform) -> str:
    """API Deployment, Service, PodDisruptionBudget, HPA and Ingress."""
    return child_name(p, "api")


def worker_name(p: spec.Platform) -> str:
    """Worker Deployment."""
    return child_name(p, "worker")


def database_name(p: spec.Platform) -> str:
    """PostgreSQL StatefulSet and its headless Service, or the CloudNativePG Cluster."""
    return child_name(p, "postgres", max_length=MAX_STATEFULSET_NAME)


def cnpg_rw_service_name(p: spec.Platform) -> str:
    """The read-write Service CloudNativePG creates for the Cluster (always the primary)."""
    return f"{database_name(p)}-rw"


def cnpg_backup_name(p: spec.Platform) -> str:
    """The ScheduledBackup of the CloudNativePG Cluster."""
    return child_name(p, "postgres-backup")


def database_init_name(p: spec.Platform) -> str:
    """ConfigMap with the SQL run when the managed database is first initialised."""
    return child_name(p, "postgres-init")


def cache_secret_name(p: spec.Platform) -> str:
    """Generated Secret with the managed Redis's password and the URL that carries it."""
    return child_name(p, "redis-auth")


def database_secret_name(p: spec.Platform) -> str:
    """Generated Secret with the managed database's credentials and URI."""
    return child_name(p, "database")


def jwt_secret_name(p: spec.Platform) -> str:
    """Generated Secret with the API's token signing keys."""
    return child_name(p, "jwt")


def cache_name(p: spec.Platform) -> str:
    """Redis Deployment and Service."""
    return child_name(p, "redis")


def config_name(p: spec.Platform) -> str:
    """ConfigMap with the API's non-secret settings."""
    return child_name(p, "config")


def migrations_job_name(p: spec.Platform, version: str) -> str:
    """The migrations Job of one version and migrations image: either changing gets a new Job.

    The image is `spec.images` resolved for `version`; when it is not the default one for the
    version (an explicit `images.migrations`, or `images.api` it follows), a digest of it is
    appended, so a new image of the same version migrates again before it is served.
    """
    images = p.spec.images
    image = images.resolve(version).migrations
    slug = version_slug(version)
    if image != f"{images.registry}/journal-api:{version}":
        slug = f"{slug}-{hashing.digest(image, length=6)}"
    return child_name(p, f"migrate-{slug}")


def model_name(p: spec.Platform, model: str) -> str:
    """A model's InferenceService (or, in deployment mode, the stem of its names)."""
    return child_name(p, model)


def model_service_name(p: spec.Platform, model: str) -> str:
    """The Service in front of a model server.

    KServe names the Service of an InferenceService `<isvc>-predictor`; the deployment
    mode uses the same name, so the URL does not depend on the mode.
    """
    return dns_label(f"{model_name(p, model)}-predictor")


def network_policy_name(p: spec.Platform, component: Component) -> str:
    """The NetworkPolicy that guards one component's pods."""
    return child_name(p, str(component))


def service_host(p: spec.Platform, service: str) -> str:
    """In-cluster host name of a Service in the platform's namespace."""
    return f"{service}.{p.namespace}.svc"


def api_url(p: spec.Platform) -> str:
    """The API's in-cluster URL (Service port 80)."""
    return f"http://{service_host(p, api_name(p))}"


def model_url(p: spec.Platform, model: str) -> str:
    """A model server's in-cluster URL (Service port 80), in either inference mode."""
    return f"http://{service_host(p, model_service_name(p, model))}"


def selector(p: spec.Platform, component: Component, *, model: str | None = None) -> dict[str, str]:
    """Labels that select one component's pods: stable across versions and spec changes.

    Deployment and StatefulSet selectors are immutable, so nothing that can change (the
    version, the spec) may appear here.
    """
    labels = {
        LABEL_NAME: APP_NAMES[component],
        LABEL_INSTANCE: p.name,
        LABEL_COMPONENT: str(component),
    }
    if model is not None:
        labels[LABEL_MODEL] = model
    return labels


def selector_string(p: spec.Platform, component: Component) -> str:
    """`selector()` in the text form used by `status.selector` and `kubectl -l`."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector(p, component).items()))


def platform_selector(p: spec.Platform) -> dict[str, str]:
    """Labels that every child of the platform carries, to list them all."""
    return {LABEL_INSTANCE: p.name, LABEL_PART_OF: PART_OF, LABEL_MANAGED_BY: MANAGER}


def labels(
    p: spec.Platform,
    component: Component,
    *,
    version: str | None = None,
    model: str | None = None,
) -> dict[str, str]:
    """The full label set of a child: its selector, part-of, managed-by, and the version.

    Args:
        p: The owning platform.
        component: Which part of the platform the child belongs to.
        version: The application version the child runs, when it runs one.
        model: The model name, for model servers.
    """
    result = {**selector(p, component, model=model), **platform_selector(p)}
    if version is not None:
        result[LABEL_VERSION] = version
    return result


def owner_reference(p: spec.Platform) -> dict[str, object]:
    """The owner reference that ties a child to its platform for garbage collection."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": p.name,
        "uid": p.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_meta(
    p: spec.Platform,
    component: Component,
    name: str,
    *,
    version: str | None = None,
    model: str | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, object]:
    """`metadata` of a child: name, namespace, labels, owner reference, annotations."""
    meta: dict[str, object] = {
        "name": name,
        "namespace": p.namespace,
        "labels": labels(p, component, version=version, model=model),
        "ownerReferences": [owner_reference(p)],
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta
