"""`database.mode: cnpg`: the CloudNativePG Cluster and what points at it, built without a cluster.

- the Cluster and ScheduledBackup validate, strictly, against CloudNativePG's real CRDs;
- the Cluster carries the spec: instances, pgvector image, storage, resources, monitoring;
- it bootstraps with the generated Secret (basic-auth, the app's owner role) and `vector`;
- backup settings reference the object store's Secret by name only; a ScheduledBackup
  exists exactly when a schedule is set;
- the API, the worker and the migrations reach the Cluster's read-write Service;
- no StatefulSet, headless Service or init SQL of the managed mode is left in the plan.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from journal_operator import naming
from journal_operator.builders import cnpg, plan
from journal_operator.builders import secrets as secrets_mod

from tests import skips
from tests.journal_operator import factories, openapi

BACKUP = {
    "destinationPath": "s3://backups/journal",
    "endpointURL": "https://minio.storage.svc:9000",
    "s3Credentials": {"secretName": "backup-keys"},
    "retentionPolicy": "14d",
    "schedule": "0 0 2 * * *",
}
SPECS: dict[str, dict[str, Any]] = {
    "defaults": {"database": {"mode": "cnpg"}},
    "everything": {
        "images": {"pullSecrets": ["registry-credentials"], "pullPolicy": "Always"},
        "database": {
            "mode": "cnpg",
            "cnpg": {
                "instances": 3,
                "imageName": "ghcr.io/cloudnative-pg/postgresql:17.6-standard-bookworm",
                "storage": "100Gi",
                "storageClassName": "fast",
                "resources": {
                    "requests": {"cpu": "2", "memory": "4Gi"},
                    "limits": {"memory": "8Gi"},
                },
                "monitoring": {"podMonitor": True},
                "backup": BACKUP,
            },
        },
    },
    "example": {k: v for k, v in factories.example("cnpg")["spec"].items() if k != "version"},
    "backup-without-schedule": {
        "database": {
            "mode": "cnpg",
            "cnpg": {"backup": {k: v for k, v in BACKUP.items() if k != "schedule"}},
        }
    },
}


def _children(fields: dict[str, Any]) -> list[dict[str, Any]]:
    return plan.flatten(
        plan.desired_children(
            factories.platform(fields),
            secrets=factories.SECRETS,
            version="1.0.0",
            migrate=True,
            inference_mode="deployment",
        )
    )


def _one(children: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [c for c in children if c["kind"] == kind]
    return found


def _database_secret(children: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        c for c in children if c["kind"] == "Secret" and c["metadata"]["name"] == "demo-database"
    )


def _require_cnpg_crds() -> None:
    if not openapi.CNPG_CRD_DIR.is_dir():
        # CloudNativePG's CRDs ship only in ../shared (absent on a user's machine); no other copy.
        pytest.skip(f"{skips.CNPG_CRD_ABSENT} {openapi.CNPG_CRD_DIR} (../shared absent)")


@pytest.mark.parametrize("name", SPECS)
def test_cloudnativepg_objects_validate_against_its_crds(name: str) -> None:
    _require_cnpg_crds()
    built = [c for c in _children(SPECS[name]) if c["apiVersion"] == cnpg.API_VERSION]
    assert {c["kind"] for c in built} <= set(openapi.CNPG_CRD_FILES)
    for child in built:
        openapi.cnpg_validator(child["kind"]).validate(child)


def test_a_broken_cluster_fails_the_same_validation() -> None:
    """The validator is strict: a misspelt field is refused, not pruned silently."""
    _require_cnpg_crds()
    cluster = cnpg.cluster(factories.platform(SPECS["defaults"]))
    cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSql"] = ["SELECT 1"]
    with pytest.raises(Exception, match="postInitApplicationSql"):
        openapi.cnpg_validator("Cluster").validate(cluster)


def test_cluster_carries_the_spec() -> None:
    p = factories.platform(SPECS["everything"])
    spec = cnpg.cluster(p)["spec"]
    assert spec["instances"] == 3
    assert spec["imageName"] == "ghcr.io/cloudnative-pg/postgresql:17.6-standard-bookworm"
    assert spec["imagePullPolicy"] == "Always"
    assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert spec["storage"] == {"size": "100Gi", "storageClass": "fast", "resizeInUseVolumes": True}
    assert spec["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"memory": "8Gi"},
    }
    assert spec["monitoring"] == {"disableDefaultQueries": False, "enablePodMonitor": True}
    assert spec["enableSuperuserAccess"] is False


def test_default_cluster_runs_three_instances_of_a_pgvector_image() -> None:
    spec = cnpg.cluster(factories.platform(SPECS["defaults"]))["spec"]
    assert spec["instances"] == 3
    assert "standard" in spec["imageName"]  # CloudNativePG's flavour that includes pgvector
    assert spec["storage"] == {"size": "20Gi", "resizeInUseVolumes": True}
    assert "backup" not in spec
    assert spec["monitoring"]["enablePodMonitor"] is False


def test_cluster_bootstraps_with_generated_credentials_and_vector() -> None:
    p = factories.platform(SPECS["defaults"])
    initdb = cnpg.cluster(p)["spec"]["bootstrap"]["initdb"]
    assert initdb == {
        "database": secrets_mod.DATABASE_NAME,
        "owner": secrets_mod.DATABASE_USER,
        "secret": {"name": naming.database_secret_name(p)},
        "postInitApplicationSQL": ["CREATE EXTENSION IF NOT EXISTS vector"],
    }
    secret = _database_secret(_children(SPECS["defaults"]))
    # CloudNativePG reads the owner's username and password from a basic-auth Secret.
    assert secret["type"] == "kubernetes.io/basic-auth"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["username"] == secrets_mod.DATABASE_USER
    assert data["password"] == factories.SECRETS.database_password


def test_api_worker_and_migrations_reach_the_read_write_service() -> None:
    p = factories.platform(SPECS["defaults"])
    children = _children(SPECS["defaults"])
    uri = base64.b64decode(_database_secret(children)["data"]["uri"]).decode()
    assert uri == (
        "postgresql://journal:s3cret%2Fp%40ss%20word@"
        f"{naming.service_host(p, 'demo-postgres-rw')}:5432/journal"
    )
    assert naming.service_host(p, "demo-postgres-rw").startswith("demo-postgres-rw.journal-test")
    workloads = [
        c
        for c in children
        if c["metadata"]["labels"][naming.LABEL_COMPONENT] in ("api", "worker", "migrations")
        and c["kind"] in ("Deployment", "Job")
    ]
    assert sorted(c["kind"] for c in workloads) == ["Deployment", "Deployment", "Job"]
    for workload in workloads:
        env = workload["spec"]["template"]["spec"]["containers"][0]["env"]
        database_url = next(e for e in env if e["name"] == "JOURNAL_API_DATABASE_URL")
        assert database_url["valueFrom"]["secretKeyRef"] == {
            "name": naming.database_secret_name(p),
            "key": secrets_mod.URI_KEY,
        }


def test_no_managed_database_children_in_cnpg_mode() -> None:
    kinds = {(c["kind"], c["metadata"]["name"]) for c in _children(SPECS["defaults"])}
    assert ("Cluster", "demo-postgres") in kinds
    assert not any(kind == "StatefulSet" for kind, _ in kinds)
    assert ("ConfigMap", "demo-postgres-init") not in kinds
    assert ("Service", "demo-postgres") not in kinds  # CloudNativePG makes -rw, -ro, -r


def test_backup_references_the_credentials_secret_only() -> None:
    p = factories.platform(SPECS["everything"])
    backup = cnpg.cluster(p)["spec"]["backup"]
    store = backup["barmanObjectStore"]
    assert backup["retentionPolicy"] == "14d"
    assert store["destinationPath"] == "s3://backups/journal"
    assert store["endpointURL"] == "https://minio.storage.svc:9000"
    assert store["s3Credentials"] == {
        "accessKeyId": {"name": "backup-keys", "key": "ACCESS_KEY_ID"},
        "secretAccessKey": {"name": "backup-keys", "key": "ACCESS_SECRET_KEY"},
    }
    # Only references: nothing that could be a key value is in any manifest we build.
    assert 'ACCESS_KEY_ID": "' not in json.dumps(_children(SPECS["everything"]))


def test_scheduled_backup_exists_exactly_when_a_schedule_is_set() -> None:
    with_schedule = _one(_children(SPECS["everything"]), "ScheduledBackup")
    assert with_schedule["spec"] == {
        "schedule": "0 0 2 * * *",
        "cluster": {"name": "demo-postgres"},
        "method": "barmanObjectStore",
        "immediate": True,
        "backupOwnerReference": "self",
    }
    for name in ("defaults", "backup-without-schedule"):
        assert not [c for c in _children(SPECS[name]) if c["kind"] == "ScheduledBackup"]


def test_network_policy_admits_clients_replicas_and_the_cloudnativepg_operator() -> None:
    p = factories.platform(SPECS["defaults"])
    policy = next(
        c
        for c in _children(SPECS["defaults"])
        if c["kind"] == "NetworkPolicy"
        and c["metadata"]["name"] == naming.network_policy_name(p, naming.Component.DATABASE)
    )
    openapi.validate_kubernetes(policy)
    assert policy["spec"]["podSelector"] == {"matchLabels": {"cnpg.io/cluster": "demo-postgres"}}
    postgres, manager = policy["spec"]["ingress"]
    assert postgres["ports"] == [{"protocol": "TCP", "port": 5432}]
    clients = postgres["from"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert sorted(clients) == ["api", "migrations", "worker"]
    assert postgres["from"][1] == {
        "podSelector": {"matchLabels": {"cnpg.io/cluster": "demo-postgres"}}
    }
    assert [port["port"] for port in manager["ports"]] == [8000, 9187]


@pytest.mark.parametrize("name", SPECS)
def test_core_children_of_cnpg_platforms_validate_against_kubernetes_schemas(name: str) -> None:
    for child in _children(SPECS[name]):
        if child["apiVersion"] != cnpg.API_VERSION:
            openapi.validate_kubernetes(child)
