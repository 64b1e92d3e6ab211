"""`database.mode: cnpg`: a CloudNativePG `Cluster`, its `ScheduledBackup` and NetworkPolicy.

CloudNativePG (postgresql.cnpg.io) runs the PostgreSQL instances, their failover, backups,
volume resize and upgrades; the operator only describes the Cluster it wants:

- the instances, the operand image (which must include pgvector), storage and resources;
- bootstrap with `initdb` of the database `journal` owned by the role `journal`, whose
  password is the one the operator generated into `<platform>-database` (a
  `kubernetes.io/basic-auth` Secret, as CloudNativePG expects), and the `vector` extension
  created right after initdb (`postInitApplicationSQL`, as the superuser, in that database);
- no superuser access from outside (`enableSuperuserAccess: false`): the application's role
  owns its database, and the migrations run as it too;
- the metrics exporter with CloudNativePG's default queries, a PodMonitor on request;
- with `backup`: barman-cloud to an S3-compatible store (credentials by Secret reference only,
  the values never pass through the operator), a retention policy, and a `ScheduledBackup`
  when a schedule is given.

The API, the worker and the migrations reach the Cluster through its read-write Service
`<platform>-postgres-rw` (the URI in the generated Secret). Pure builders, validated in the
tests against CloudNativePG's own CRDs.
"""

from __future__ import annotations

from typing import Any

from journal_operator import naming, spec
from journal_operator.builders import pods
from journal_operator.builders import secrets as secrets_mod
from journal_operator.manifests import Manifest

API_VERSION = "postgresql.cnpg.io/v1"
COMPONENT = naming.Component.DATABASE
VECTOR_SQL = "CREATE EXTENSION IF NOT EXISTS vector"
# The label CloudNativePG puts on every pod of a Cluster.
CLUSTER_LABEL = "cnpg.io/cluster"
# CloudNativePG's instance manager: status endpoint (the CloudNativePG operator polls it from
# its own namespace) and the metrics exporter.
STATUS_PORT = 8000
METRICS_PORT = 9187


def cluster(p: spec.Platform) -> Manifest:
    """The `Cluster` `<platform>-postgres`."""
    settings = p.spec.database.cnpg_or_default
    storage: dict[str, Any] = {"size": settings.storage, "resizeInUseVolumes": True}
    if settings.storage_class_name is not None:
        storage["storageClass"] = settings.storage_class_name
    cluster_spec: dict[str, Any] = {
        "description": f"Journal Platform {p.name}",
        "instances": settings.instances,
        "imageName": settings.image_name,
        "imagePullPolicy": p.spec.images.pull_policy,
        # Replicas are updated first, then the primary is switched over, without a human.
        "primaryUpdateStrategy": "unsupervised",
        "enableSuperuserAccess": False,
        "enablePDB": True,
        "storage": storage,
        "resources": pods.resources(settings.resources),
        "affinity": {
            # One instance per node where the nodes allow it: losing a node loses one replica.
            "enablePodAntiAffinity": True,
            "topologyKey": "kubernetes.io/hostname",
            "podAntiAffinityType": "preferred",
        },
        # Labels on the pods and Services CloudNativePG creates, so they are found with the
        # platform's other parts (but not managed-by: they are CloudNativePG's, not ours).
        "inheritedMetadata": {"labels": _inherited_labels(p)},
        "bootstrap": {
            "initdb": {
                "database": secrets_mod.DATABASE_NAME,
                "owner": secrets_mod.DATABASE_USER,
                "secret": {"name": naming.database_secret_name(p)},
                "postInitApplicationSQL": [VECTOR_SQL],
            }
        },
        "monitoring": {
            "disableDefaultQueries": False,
            "enablePodMonitor": settings.monitoring.pod_monitor,
        },
    }
    if p.spec.images.pull_secrets:
        cluster_spec["imagePullSecrets"] = [{"name": n} for n in p.spec.images.pull_secrets]
    if settings.backup is not None:
        cluster_spec["backup"] = _backup(settings.backup)
    return {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": naming.child_meta(p, COMPONENT, naming.database_name(p)),
        "spec": cluster_spec,
    }


def scheduled_backup(p: spec.Platform) -> Manifest | None:
    """The `ScheduledBackup` `<platform>-postgres-backup`, when a schedule is set."""
    backup = p.spec.database.cnpg_or_default.backup
    if backup is None or backup.schedule is None:
        return None
    return {
        "apiVersion": API_VERSION,
        "kind": "ScheduledBackup",
        "metadata": naming.child_meta(p, COMPONENT, naming.cnpg_backup_name(p)),
        "spec": {
            "schedule": backup.schedule,
            "cluster": {"name": naming.database_name(p)},
            "method": "barmanObjectStore",
            # A first base backup right away: point-in-time recovery needs one to start from.
            "immediate": True,
            # Each Backup belongs to the ScheduledBackup, so deleting it cleans them up;
            # the data in the object store stays (retention policy).
            "backupOwnerReference": "self",
        },
    }


def network_policy(p: spec.Platform) -> Manifest:
    """Ingress to the Cluster's instances: the platform's clients, the instances, the operator.

    PostgreSQL (5432) admits the API, the worker and the migrations of this platform and the
    other instances of the Cluster (streaming replication); the instance manager's status
    port admits any namespace (CloudNativePG's operator runs in its own) and so does the
    metrics port (Prometheus).
    """
    clients = {
        "podSelector": {
            "matchLabels": naming.platform_selector(p),
            "matchExpressions": [
                {
                    "key": naming.LABEL_COMPONENT,
                    "operator": "In",
                    "values": [
                        str(naming.Component.API),
                        str(naming.Component.WORKER),
                        str(naming.Component.MIGRATIONS),
                    ],
                }
            ],
        }
    }
    instances = {"podSelector": {"matchLabels": {CLUSTER_LABEL: naming.database_name(p)}}}
    anywhere: dict[str, Any] = {"namespaceSelector": {}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": naming.child_meta(p, COMPONENT, naming.network_policy_name(p, COMPONENT)),
        "spec": {
            "podSelector": {"matchLabels": {CLUSTER_LABEL: naming.database_name(p)}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"ports": [_tcp(secrets_mod.DATABASE_PORT)], "from": [clients, instances]},
                {"ports": [_tcp(STATUS_PORT), _tcp(METRICS_PORT)], "from": [anywhere]},
            ],
        },
    }


def children(p: spec.Platform) -> list[Manifest]:
    """The Cluster and, with a schedule, its ScheduledBackup (the DATABASE step)."""
    backup = scheduled_backup(p)
    return [cluster(p)] + ([backup] if backup is not None else [])


def _backup(backup: spec.CnpgBackup) -> dict[str, Any]:
    credentials = backup.s3_credentials
    store: dict[str, Any] = {
        "destinationPath": backup.destination_path,
        "s3Credentials": {
            "accessKeyId": {"name": credentials.secret_name, "key": credentials.access_key_id_key},
            "secretAccessKey": {
                "name": credentials.secret_name,
                "key": credentials.secret_access_key_key,
            },
        },
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if backup.endpoint_url is not None:
        store["endpointURL"] = backup.endpoint_url
    return {"retentionPolicy": backup.retention_policy, "barmanObjectStore": store}


def _inherited_labels(p: spec.Platform) -> dict[str, str]:
    return {
        naming.LABEL_INSTANCE: p.name,
        naming.LABEL_PART_OF: naming.PART_OF,
        naming.LABEL_COMPONENT: str(COMPONENT),
    }


def _tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}
