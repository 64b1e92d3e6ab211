"""Typed view of a JournalPlatform: pydantic models mirroring the CRD, and `parse()`.

The CRD (`crds/journalplatforms.journalplatform.io.yaml`) is the source of truth: the API
server applies its defaults and CEL rules before the operator ever sees a resource. These
models repeat the defaults (a test fails when the two drift) and the stateless rules, so
that a body which bypassed the API server (a test, an older CRD) still fails with the same
field path. Rules that compare with the previous object (immutability) live only in the CRD.

Handlers call `parse(body)`; builders and the reconcile read the returned `Platform`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

SEMVER_PATTERN = (
    r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z][0-9A-Za-z.-]*)?$"
)
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
INT_OR_PERCENT_PATTERN = r"^(100|[1-9]?[0-9])%$|^[0-9]+$"

# Settings of the API that the operator sets itself (config.py, secrets.py); the CRD refuses
# them in spec.api.env with the same list. Keep the two in step.
RESERVED_ENV = frozenset(
    {
        "JOURNAL_API_ENVIRONMENT",
        "JOURNAL_API_DATABASE_URL",
        "JOURNAL_API_REDIS_URL",
        "JOURNAL_API_JWT_KEY",
        "JOURNAL_API_JWT_KID",
        "JOURNAL_API_JWT_PREVIOUS_KEY",
        "JOURNAL_API_JWT_PREVIOUS_KID",
        "JOURNAL_API_AUDIT_KEY",
        "JOURNAL_API_RATE_LIMIT_PER_USER",
        "JOURNAL_API_RATE_LIMIT_PER_IP",
        "JOURNAL_API_RATE_LIMIT_WINDOW_SECONDS",
        "JOURNAL_API_HOST",
        "JOURNAL_API_CRISIS_RESOURCES_FILE",
        "JOURNAL_API_PORT",
        "JOURNAL_API_INFERENCE_URL",
    }
)

Quantity = int | Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN, max_length=32)]
IntOrPercent = int | Annotated[str, StringConstraints(pattern=INT_OR_PERCENT_PATTERN)]


def _semantic_version(value: str) -> str:
    if len(value) > 64 or re.match(SEMVER_PATTERN, value) is None:
        raise ValueError(
            "must be a semantic version such as 1.4.0 or 1.4.0-rc.1 (it is used as an image "
            "tag, so no '+build' suffix)"
        )
    return value


Version = Annotated[str, AfterValidator(_semantic_version)]
ImageRef = Annotated[str, StringConstraints(min_length=1, max_length=512)]
SecretName = Annotated[str, StringConstraints(min_length=1, max_length=253)]


class InvalidSpec(ValueError):  # noqa: N818 - named for what it is, as kopf's PermanentError
    """The resource cannot be reconciled as written; retrying will not help.

    Attributes:
        errors: (field path, reason) pairs, for example ("spec.api.replicas", "...").
    """

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in errors))

    @property
    def path(self) -> str:
        """The first offending field, for a condition or an event."""
        return self.errors[0][0]


class _Model(BaseModel):
    # Forbid extras: the API server prunes unknown fields, so an extra here means the CRD
    # and these models disagree, which tests must notice.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class ResourceList(_Model):
    """CPU and memory quantities."""

    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(_Model):
    """Container requests and limits, shaped as in a Pod."""

    requests: ResourceList | None = None
    limits: ResourceList | None = None


def _resources(cpu: str, memory: str, limit_memory: str) -> Any:
    return Field(
        default_factory=lambda: Resources(
            requests=ResourceList(cpu=cpu, memory=memory),
            limits=ResourceList(memory=limit_memory),
        )
    )


class Images(_Model):
    """Image references; unset ones are derived from `registry` and the version."""

    registry: str = Field(
        default="ghcr.io/journal-platform",
        max_length=200,
        pattern=r"^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$",
    )
    api: ImageRef | None = None
    worker: ImageRef | None = None
    migrations: ImageRef | None = None
    inference: ImageRef | None = None
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    pull_secrets: tuple[SecretName, ...] = Field(default=(), max_length=8)

    def resolve(self, version: str) -> ResolvedImages:
        """The image of every application container for `version`.

        The worker and the migrations are commands of the API program, so they default to
        the API image rather than images of their own.
        """
        api = self.api or f"{self.registry}/journal-api:{version}"
        return ResolvedImages(
            api=api,
            worker=self.worker or api,
            migrations=self.migrations or api,
            inference=self.inference or f"{self.registry}/journal-inference:{version}",
        )


@dataclasses.dataclass(frozen=True)
class ResolvedImages:
    """Concrete image references for one application version."""

    api: str
    worker: str
    migrations: str
    inference: str


class Autoscaling(_Model):
    """The API's HorizontalPodAutoscaler."""

    enabled: bool = False
    min_replicas: int = Field(default=2, ge=1, le=100)
    max_replicas: int = Field(default=10, ge=1, le=100)
    target_cpu_utilization_percentage: int = Field(
        default=70, ge=1, le=100, alias="targetCPUUtilizationPercentage"
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must be less than or equal to maxReplicas")
        return self


class RateLimits(_Model):
    """Per-user and per-IP request limits."""

    per_user_per_minute: int = Field(default=600, ge=1, le=1_000_000)
    per_ip_per_minute: int = Field(default=1200, ge=1, le=1_000_000)


class EnvVar(_Model):
    """An extra environment variable (plain value only)."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    value: str = Field(default="", max_length=4096)

    @model_validator(mode="after")
    def _not_reserved(self) -> EnvVar:
        if self.name in RESERVED_ENV:
            raise ValueError(f"{self.name} is managed by the operator and cannot be set here")
        return self


class Ingress(_Model):
    """Optional Ingress in front of the API."""

    enabled: bool = False
    class_name: str | None = Field(default=None, max_length=253)
    host: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    )
    tls_secret_name: str | None = Field(default=None, max_length=253)

    @model_validator(mode="after")
    def _tls_needs_host(self) -> Ingress:
        if self.tls_secret_name is not None and self.host is None:
            raise ValueError("tlsSecretName requires host")
        return self


class CrisisResources(_Model):
    """A ConfigMap key holding the crisis lines shown beside a flagged entry (the API's
    crisis resources document), replacing the shipped worldwide list."""

    config_map_name: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    )
    key: str = Field(
        default="crisis-resources.json", min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$"
    )


class Api(_Model):
    """The HTTP API."""

    replicas: int = Field(default=2, ge=1, le=100)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    resources: Resources = _resources("250m", "256Mi", "512Mi")
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    env: tuple[EnvVar, ...] = Field(default=(), max_length=32)
    ingress: Ingress = Field(default_factory=Ingress)
    crisis_resources: CrisisResources | None = None

    @model_validator(mode="after")
    def _env_names_unique(self) -> Api:
        _require_unique([e.name for e in self.env], what="env name")
        return self


class Worker(_Model):
    """The background analysis worker."""

    replicas: int = Field(default=1, ge=0, le=100)
    resources: Resources = _resources("100m", "256Mi", "512Mi")


class SecretRef(_Model):
    """A key of a Secret in the platform's namespace."""

    name: SecretName
    key: str = Field(default="uri", min_length=1, max_length=253)


class External(_Model):
    """A service the user runs, reached through a URI in a Secret."""

    secret_ref: SecretRef


class ManagedDatabase(_Model):
    """The PostgreSQL StatefulSet the operator runs."""

    storage: str = Field(default="10Gi", max_length=16, pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")
    storage_class_name: str | None = Field(default=None, max_length=253)
    image: ImageRef = "docker.io/pgvector/pgvector:0.8.0-pg17"
    resources: Resources = _resources("250m", "512Mi", "1Gi")


# CloudNativePG's PostgreSQL images with the extensions of its "standard" flavour, pgvector
# among them (github.com/cloudnative-pg/postgresql-container-images).
CNPG_DEFAULT_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.6-standard-bookworm"
# barman's retention policy syntax: a number of days, weeks or months.
RETENTION_PATTERN = r"^[1-9][0-9]*[dwm]$"
# CloudNativePG's ScheduledBackup schedule: six cron fields (seconds first).
SCHEDULE_PATTERN = r"^(\S+\s+){5}\S+$"


class S3Credentials(_Model):
    """Where the object store's access keys are: keys of a Secret in the namespace."""

    secret_name: SecretName
    access_key_id_key: str = Field(default="ACCESS_KEY_ID", min_length=1, max_length=253)
    secret_access_key_key: str = Field(default="ACCESS_SECRET_KEY", min_length=1, max_length=253)


class CnpgBackup(_Model):
    """Base backups and WAL archive in an S3-compatible object store (barman-cloud)."""

    destination_path: str = Field(min_length=1, max_length=1024, pattern=r"^s3://")
    endpoint_url: str | None = Field(
        default=None, max_length=1024, pattern=r"^https?://", alias="endpointURL"
    )
    s3_credentials: S3Credentials
    retention_policy: str = Field(default="30d", max_length=16, pattern=RETENTION_PATTERN)
    schedule: str | None = Field(default=None, max_length=128, pattern=SCHEDULE_PATTERN)


class CnpgMonitoring(_Model):
    """CloudNativePG's metrics exporter (port 9187 on every instance, always on)."""

    pod_monitor: bool = False


class CnpgDatabase(_Model):
    """A CloudNativePG `Cluster` the operator creates (CloudNativePG must be installed)."""

    instances: int = Field(default=3, ge=1, le=9)
    image_name: ImageRef = CNPG_DEFAULT_IMAGE
    storage: str = Field(default="20Gi", max_length=16, pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")
    storage_class_name: str | None = Field(default=None, max_length=253)
    resources: Resources = _resources("500m", "1Gi", "2Gi")
    monitoring: CnpgMonitoring = Field(default_factory=CnpgMonitoring)
    backup: CnpgBackup | None = None


DatabaseMode = Literal["managed", "external", "cnpg"]


class Database(_Model):
    """Managed, CloudNativePG or external PostgreSQL."""

    mode: DatabaseMode = "managed"
    managed: ManagedDatabase | None = None
    cnpg: CnpgDatabase | None = None
    external: External | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> Database:
        _require_exclusive(self.mode, managed=self.managed, external=self.external)
        if self.mode != "cnpg" and self.cnpg is not None:
            raise ValueError(f"cnpg must not be set when mode is {self.mode}")
        return self

    @property
    def managed_or_default(self) -> ManagedDatabase:
        """The managed settings, with defaults when the block is absent."""
        return self.managed or ManagedDatabase()

    @property
    def cnpg_or_default(self) -> CnpgDatabase:
        """The CloudNativePG settings, with defaults when the block is absent."""
        return self.cnpg or CnpgDatabase()

    @property
    def generated_credentials(self) -> bool:
        """Whether the operator generates the database's credentials (managed and cnpg)."""
        return self.mode in ("managed", "cnpg")


class ManagedCache(_Model):
    """The Redis the operator runs (no persistence)."""

    image: ImageRef = "docker.io/library/redis:7.4-alpine"
    max_memory: str = Field(default="256mb", max_length=16, pattern=r"^[1-9][0-9]*(kb|mb|gb)$")
    resources: Resources = _resources("100m", "128Mi", "384Mi")


class Cache(_Model):
    """Managed, external or no Redis."""

    mode: Literal["managed", "external", "disabled"] = "managed"
    managed: ManagedCache | None = None
    external: External | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> Cache:
        _require_exclusive(self.mode, managed=self.managed, external=self.external)
        return self

    @property
    def managed_or_default(self) -> ManagedCache:
        """The managed settings, with defaults when the block is absent."""
        return self.managed or ManagedCache()


# What a model server computes. `all` serves every task from one process (one artifact,
# one set of pods) under the model names emotion, sentiment, embedding and analyzer; a
# single task serves the model of that name and lets the task scale on its own.
Task = Literal["all", "emotion", "sentiment", "embedding"]
# The default server, named after the model name that answers every task at once.
DEFAULT_MODEL = "analyzer"


class Model(_Model):
    """One model server."""

    name: str = Field(min_length=1, max_length=20, pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
    task: Task = "all"
    min_replicas: int = Field(default=1, ge=1, le=50)
    max_replicas: int = Field(default=3, ge=1, le=50)
    scale_metric: Literal["cpu", "memory"] = "cpu"
    scale_target: int = Field(default=70, ge=1, le=100)
    resources: Resources = _resources("500m", "1Gi", "2Gi")

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Model:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must be less than or equal to maxReplicas")
        return self


def _default_models() -> tuple[Model, ...]:
    return (Model(name=DEFAULT_MODEL, task="all"),)


class Inference(_Model):
    """Model servers."""

    mode: Literal["kserve", "deployment", "auto"] = "auto"
    models: tuple[Model, ...] = Field(default_factory=_default_models, max_length=8)

    @model_validator(mode="after")
    def _names_unique(self) -> Inference:
        _require_unique([m.name for m in self.models], what="model name")
        return self

    @field_validator("models")
    @classmethod
    def _analyzer_served(cls, models: tuple[Model, ...]) -> tuple[Model, ...]:
        # The worker analyses entries with the `analyzer` model (every task in one pass), which
        # only a task `all` server answers to; per-task servers scale beside it. An empty list
        # runs no model servers at all (entries wait for analysis).
        if models and not any(m.task == "all" for m in models):
            raise ValueError(
                "models must include a server with task all (the API's worker calls its "
                "analyzer model); per-task servers may run beside it"
            )
        return models


class Rollout(_Model):
    """Rolling update and migration limits."""

    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = 0
    progress_deadline_seconds: int = Field(default=600, ge=30, le=7200)
    migration_timeout_seconds: int = Field(default=600, ge=30, le=86400)

    @model_validator(mode="after")
    def _can_progress(self) -> Rollout:
        if str(self.max_surge) in {"0", "0%"} and str(self.max_unavailable) in {"0", "0%"}:
            raise ValueError("maxSurge and maxUnavailable cannot both be 0")
        return self


class PlatformSpec(_Model):
    """`spec` of a JournalPlatform."""

    version: Version
    images: Images = Field(default_factory=Images)
    api: Api = Field(default_factory=Api)
    worker: Worker = Field(default_factory=Worker)
    database: Database = Field(default_factory=lambda: Database(managed=ManagedDatabase()))
    cache: Cache = Field(default_factory=Cache)
    inference: Inference = Field(default_factory=Inference)
    rollout: Rollout = Field(default_factory=Rollout)
    deletion_policy: Literal["Retain", "Delete"] = "Retain"
    paused: bool = False


@dataclasses.dataclass(frozen=True)
class Platform:
    """Identity of one JournalPlatform plus its parsed spec; what every builder takes."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: PlatformSpec
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)


def parse(body: Mapping[str, Any]) -> Platform:
    """Turn a JournalPlatform body (a kopf.Body or a plain dict) into a `Platform`.

    Args:
        body: The whole resource: apiVersion, kind, metadata and spec.

    Returns:
        The platform's identity and typed spec.

    Raises:
        InvalidSpec: With the field path (for example `spec.inference.models[1].minReplicas`)
            and the reason of every problem found.
    """
    metadata = body.get("metadata") or {}
    missing = [f"metadata.{key}" for key in ("name", "namespace") if not metadata.get(key)]
    if missing:
        raise InvalidSpec([(path, "is required") for path in missing])
    try:
        spec = PlatformSpec.model_validate(body.get("spec") or {})
    except pydantic.ValidationError as e:
        errors: dict[str, str] = {}
        for err in e.errors():
            # A union (int or quantity string) fails once per branch; one reason per field.
            # The last branch is the string one, whose reason (a pattern) is the useful one.
            errors[_field_path(("spec", *err["loc"]))] = err["msg"].removeprefix("Value error, ")
        raise InvalidSpec(list(errors.items())) from e
    return Platform(
        name=str(metadata["name"]),
        namespace=str(metadata["namespace"]),
        uid=str(metadata.get("uid") or ""),
        generation=int(metadata.get("generation") or 0),
        spec=spec,
        labels=dict(metadata.get("labels") or {}),
        annotations=dict(metadata.get("annotations") or {}),
    )


def version_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """A sort key that orders versions as semantic versioning does.

    A release sorts after its pre-releases (1.4.0-rc.1 < 1.4.0), and numeric pre-release
    identifiers compare as numbers (rc.2 < rc.10). Used to refuse downgrades.

    Raises:
        ValueError: When `version` is not a semantic version.
    """
    match = re.match(SEMVER_PATTERN, version)
    if match is None:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(part)) if part.isdigit() else (1, part) for part in pre[1:].split("."))
    return (int(major), int(minor), int(patch), 0, parts)


def _require_exclusive(mode: str, *, managed: object | None, external: object | None) -> None:
    if mode == "external" and external is None:
        raise ValueError("external is required when mode is external")
    if mode != "external" and external is not None:
        raise ValueError(f"external must not be set when mode is {mode}")
    if mode != "managed" and managed is not None:
        raise ValueError(f"managed must not be set when mode is {mode}")


def _require_unique(names: list[str], *, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)


_UNION_TAGS = frozenset({"int", "str", "constrained-str"})


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS or "[" in part:
            continue  # pydantic's union-branch and validator markers, not fields
        else:
            path += f".{part}" if path else part
    return path
