"""The managed PostgreSQL: a one-pod StatefulSet with pgvector, its headless Service, and
the ConfigMap of SQL run when the data directory is first initialised.

The `vector` extension is created twice on purpose: by the init SQL here (as the
superuser, when the volume is new) and by the API's first migration (`CREATE EXTENSION IF
NOT EXISTS vector`), which is what covers an external database. Pure builders; only used
when `spec.database.mode` is `managed`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from journal_operator import naming, spec
from journal_operator.builders import pods
from journal_operator.builders import secrets as secrets_mod
from journal_operator.manifests import Manifest

DATA_MOUNT = "/var/lib/postgresql/data"
# A subdirectory: initdb refuses a mount point that holds lost+found.
PGDATA = f"{DATA_MOUNT}/pgdata"
# Run once by the image's entrypoint, as the superuser, when it initialises the data
# directory: the extensions the migrations need, and the application role that owns the
# database (no superuser) as which the API, the worker and the migrations connect.
INIT_SCRIPT = """\
# Sourced by docker-entrypoint.sh on a new data directory (JournalPlatform operator).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \\
  -v app_user="$JOURNAL_APP_USER" -v app_password="$JOURNAL_APP_PASSWORD" \\
  -v app_db="$POSTGRES_DB" <<'SQL'
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'app_user', :'app_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \\gexec
ALTER DATABASE :"app_db" OWNER TO :"app_user";
ALTER SCHEMA public OWNER TO :"app_user";
SQL
"""
COMPONENT = naming.Component.DATABASE


def database_init_config(p: spec.Platform) -> Manifest:
    """ConfigMap mounted at /docker-entrypoint-initdb.d: extensions and the application role."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": naming.child_meta(p, COMPONENT, naming.database_init_name(p)),
        "data": {"01-app-role.sh": INIT_SCRIPT},
    }


def database_service(p: spec.Platform) -> Manifest:
    """Headless Service `<platform>-postgres`: the StatefulSet's stable DNS name."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": naming.child_meta(p, COMPONENT, naming.database_name(p)),
        "spec": {
            "clusterIP": "None",
            "selector": naming.selector(p, COMPONENT),
            "ports": [
                {
                    "name": "postgres",
                    "port": secrets_mod.DATABASE_PORT,
                    "targetPort": "postgres",
                    "protocol": "TCP",
                }
            ],
        },
    }


def database_statefulset(p: spec.Platform, *, claim_storage: str | None = None) -> Manifest:
    """StatefulSet `<platform>-postgres` with one pod and a data volume claim.

    `deletionPolicy` maps onto `persistentVolumeClaimRetentionPolicy.whenDeleted`, so the
    StatefulSet controller itself keeps or deletes the volume with the platform.

    Args:
        p: The platform.
        claim_storage: The size in the existing StatefulSet's claim template, which
            Kubernetes never lets change; None (a new StatefulSet) takes `storage`. A larger
            `storage` grows the volume through its claim instead (`claims_to_grow`).
    """
    managed = p.spec.database.managed_or_default
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": claim_storage or managed.storage}},
    }
    if managed.storage_class_name is not None:
        claim_spec["storageClassName"] = managed.storage_class_name
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": naming.child_meta(p, COMPONENT, naming.database_name(p)),
        "spec": {
            "replicas": 1,
            "serviceName": naming.database_name(p),
            "selector": {"matchLabels": naming.selector(p, COMPONENT)},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": p.spec.deletion_policy,
                "whenScaled": "Retain",
            },
            "template": {
                "metadata": {"labels": naming.labels(p, COMPONENT)},
                "spec": _pod_spec(p, managed),
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": naming.labels(p, COMPONENT)},
                    "spec": claim_spec,
                }
            ],
        },
    }


def _pod_spec(p: spec.Platform, managed: spec.ManagedDatabase) -> dict[str, Any]:
    tmp, tmp_mount = pods.tmp_volume()
    secret = naming.database_secret_name(p)
    ready = ["pg_isready", "-h", "127.0.0.1", "-U", secrets_mod.DATABASE_USER]
    ready += ["-d", secrets_mod.DATABASE_NAME]
    container = {
        "name": "postgres",
        "image": managed.image,
        "imagePullPolicy": p.spec.images.pull_policy,
        "env": [
            # The superuser: only the first start (initdb) uses it. Optional: a database
            # created before the application role existed has `username` as its superuser.
            _env_secret("POSTGRES_USER", secret, secrets_mod.SUPERUSER_KEY, optional=True),
            _env_secret(
                "POSTGRES_PASSWORD", secret, secrets_mod.SUPERUSER_PASSWORD_KEY, optional=True
            ),
            _env_secret("POSTGRES_DB", secret, secrets_mod.DATABASE_KEY),
            # The application role the init script creates, owner of the database.
            _env_secret("JOURNAL_APP_USER", secret, secrets_mod.USERNAME_KEY),
            _env_secret("JOURNAL_APP_PASSWORD", secret, secrets_mod.PASSWORD_KEY),
            {"name": "PGDATA", "value": PGDATA},
        ],
        "ports": [{"name": "postgres", "containerPort": secrets_mod.DATABASE_PORT}],
        "resources": pods.resources(managed.resources),
        # initdb on a fresh volume takes a while; the startup probe gives it five minutes
        # before liveness may restart the container.
        "startupProbe": _exec_probe(ready, period=5, failures=60),
        "readinessProbe": _exec_probe(ready, period=5, failures=3),
        "livenessProbe": _exec_probe(ready, period=10, failures=6),
        "securityContext": pods.container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_MOUNT},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "init", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True},
            tmp_mount,
        ],
    }
    return {
        **pods.pod_defaults(p),
        # A clean shutdown (checkpoint) of PostgreSQL needs more than the default 30 s.
        "terminationGracePeriodSeconds": 60,
        "securityContext": pods.pod_security(uid=pods.DATA_UID),
        "containers": [container],
        "volumes": [
            {"name": "run", "emptyDir": {}},
            {"name": "init", "configMap": {"name": naming.database_init_name(p)}},
            tmp,
        ],
    }


def _env_secret(name: str, secret: str, key: str, *, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def _exec_probe(command: list[str], *, period: int, failures: int) -> dict[str, Any]:
    return {
        "exec": {"command": command},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def claim_template_storage(statefulset: Mapping[str, Any] | None) -> str | None:
    """The storage request of an existing StatefulSet's `data` claim template, if any."""
    for template in ((statefulset or {}).get("spec") or {}).get("volumeClaimTemplates") or []:
        if (template.get("metadata") or {}).get("name") == "data":
            storage = ((template.get("spec") or {}).get("resources") or {}).get("requests", {})
            value = storage.get("storage")
            return str(value) if value is not None else None
    return None


def claims_to_grow(
    p: spec.Platform, claims: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    """`(claim, from, to)` for each data claim that requests less than `storage`.

    Volumes only grow (the CRD refuses a smaller `storage`); where the StorageClass does not
    allow expansion the API server refuses the claim's patch, and says so.
    """
    want = p.spec.database.managed_or_default.storage
    found = []
    for claim in claims:
        requested = str(
            (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
                "storage", "0"
            )
        )
        if quantity_bytes(requested) < quantity_bytes(want):
            found.append((str(claim["metadata"]["name"]), requested, want))
    return found


_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
}


def quantity_bytes(quantity: str) -> float:
    """A storage quantity (`10Gi`, `500M`, `1073741824`) in bytes.

    Raises:
        ValueError: For a quantity in a form storage requests do not take.
    """
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([kMGTP]i?)?", quantity.strip())
    if match is None:
        raise ValueError(f"not a storage quantity: {quantity!r}")
    return float(match.group(1)) * _SUFFIXES[match.group(2) or ""]
