"""The data services and their Secrets: PostgreSQL, Redis, generated credentials.

- PostgreSQL: pgvector image, one replica, a claim of the spec's size and class, the
  retention policy from deletionPolicy, pg_isready probes, the vector extension at init,
  credentials from the generated Secret, a headless Service;
- Redis: no persistence, LRU eviction, a Service;
- Secrets: base64 data, a URI that escapes the password, keys that round-trip, no leak.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import pytest
from journal_operator import naming
from journal_operator.builders import config, postgres, redis, secrets

from tests.journal_operator import factories


def _statefulset(fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return postgres.database_statefulset(factories.platform(fields))


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_postgres_runs_pgvector_image_with_one_replica() -> None:
    sts = _statefulset()
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert sts["spec"]["replicas"] == 1
    assert container["image"] == "docker.io/pgvector/pgvector:0.8.0-pg17"
    assert sts["spec"]["serviceName"] == "demo-postgres"


def test_postgres_claims_storage_from_spec() -> None:
    claim = _statefulset(
        {"database": {"managed": {"storage": "50Gi", "storageClassName": "fast"}}}
    )["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"] == {"requests": {"storage": "50Gi"}}
    assert claim["spec"]["storageClassName"] == "fast"


def test_postgres_uses_default_storage_class_when_unset() -> None:
    claim = _statefulset()["spec"]["volumeClaimTemplates"][0]
    assert "storageClassName" not in claim["spec"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "10Gi"}}


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_volume_retention_follows_deletion_policy(policy: str) -> None:
    retention = _statefulset({"deletionPolicy": policy})["spec"][
        "persistentVolumeClaimRetentionPolicy"
    ]
    assert retention == {"whenDeleted": policy, "whenScaled": "Retain"}


def test_postgres_probes_use_pg_isready() -> None:
    container = _statefulset()["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"][0] == "pg_isready"


def test_postgres_creates_extensions_and_the_application_role_at_init() -> None:
    p = factories.platform()
    init = postgres.database_init_config(p)
    script = init["data"]["01-app-role.sh"]
    assert "CREATE EXTENSION IF NOT EXISTS vector" in script
    assert "NOSUPERUSER" in script
    container = postgres.database_statefulset(p)["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    # The superuser comes from its own keys (optional: older Secrets lack them); the role
    # the API uses is `username`, created by the init script.
    assert env["POSTGRES_USER"] == {"name": "demo-database", "key": "superuser", "optional": True}
    assert env["POSTGRES_PASSWORD"]["key"] == "superuser-password"
    assert env["JOURNAL_APP_USER"]["key"] == "username"
    assert env["JOURNAL_APP_PASSWORD"]["key"] == "password"
    data = _decoded(secrets.database_secret(p, factories.SECRETS))
    assert data["superuser"] == "postgres"
    assert data["superuser-password"] == factories.SECRETS.database_superuser_password
    assert data["username"] == "journal"
    assert "postgres:" not in data["uri"], "the API never connects as the superuser"
    pod = postgres.database_statefulset(p)["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts["/docker-entrypoint-initdb.d"])
    assert volume["configMap"]["name"] == init["metadata"]["name"]


def test_postgres_credentials_come_from_generated_secret() -> None:
    env = {e["name"]: e for e in _statefulset()["spec"]["template"]["spec"]["containers"][0]["env"]}
    for name, key in (("JOURNAL_APP_USER", "username"), ("JOURNAL_APP_PASSWORD", "password")):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "demo-database", "key": key}
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")


def test_postgres_runs_as_postgres_user_without_root() -> None:
    pod = _statefulset()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 999
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_postgres_service_is_headless() -> None:
    p = factories.platform()
    service = postgres.database_service(p)
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == naming.selector(p, naming.Component.DATABASE)
    assert service["spec"]["ports"][0]["port"] == 5432


def test_redis_has_no_persistence_and_evicts_lru() -> None:
    deployment = redis.cache_deployment(
        factories.platform({"cache": {"managed": {"maxMemory": "1gb"}}})
    )
    pod = deployment["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"
    assert command[command.index("--maxmemory") + 1] == "1gb"
    assert command[command.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert all("persistentVolumeClaim" not in v for v in pod["volumes"])


def test_redis_service_matches_the_secret_url() -> None:
    p = factories.platform()
    service = redis.cache_service(p)
    assert service["spec"]["ports"][0]["port"] == 6379
    url = urllib.parse.urlsplit(_decoded(secrets.cache_secret(p, factories.SECRETS))["uri"])
    assert url.hostname == f"{service['metadata']['name']}.{p.namespace}.svc"
    assert url.port == 6379


def test_redis_requires_the_generated_password_from_its_secret() -> None:
    p = factories.platform()
    container = redis.cache_deployment(p)["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[command.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert "--protected-mode" not in command
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    ref = {"name": naming.cache_secret_name(p), "key": "password"}
    assert env == {"REDIS_PASSWORD": ref, "REDISCLI_AUTH": ref}
    assert factories.SECRETS.cache_password not in str(redis.cache_deployment(p))
    data = _decoded(secrets.cache_secret(p, factories.SECRETS))
    assert data["password"] == factories.SECRETS.cache_password
    # The password is escaped in the URL and comes back out intact.
    assert urllib.parse.unquote(urllib.parse.urlsplit(data["uri"]).password or "") == (
        factories.SECRETS.cache_password
    )


def test_database_secret_holds_escaped_uri() -> None:
    p = factories.platform()
    data = _decoded(secrets.database_secret(p, factories.SECRETS))
    assert data["username"] == "journal"
    assert data["password"] == factories.SECRETS.database_password
    parsed = urllib.parse.urlsplit(data["uri"])
    assert parsed.scheme == "postgresql"
    assert parsed.hostname == "demo-postgres.journal-test.svc"
    assert parsed.port == 5432
    assert urllib.parse.unquote(parsed.password or "") == factories.SECRETS.database_password
    assert parsed.path == "/journal"


def test_jwt_secret_holds_previous_key_only_during_rotation() -> None:
    p = factories.platform()
    assert set(_decoded(secrets.jwt_secret(p, factories.SECRETS))) == {"key", "kid", "audit-key"}
    rotating = secrets.GeneratedSecrets(
        database_password="x",
        jwt_key="n" * 40,
        jwt_kid="k2",
        jwt_previous_key="o" * 40,
        jwt_previous_kid="k1",
        audit_key="a" * 64,
    )
    assert _decoded(secrets.jwt_secret(p, rotating)) == {
        "key": "n" * 40,
        "kid": "k2",
        "previous-key": "o" * 40,
        "previous-kid": "k1",
        "audit-key": "a" * 64,  # the audit key does not rotate with the signing key
    }


def test_generated_secrets_round_trip_through_secrets() -> None:
    p = factories.platform()
    rotating = secrets.GeneratedSecrets(
        database_password="pw",
        jwt_key="n" * 40,
        jwt_kid="k2",
        jwt_previous_key="o" * 40,
        jwt_previous_kid="k1",
    )
    read = secrets.read_generated(
        secrets.database_secret(p, rotating)["data"], secrets.jwt_secret(p, rotating)["data"]
    )
    assert read == rotating


def test_generated_secrets_never_print() -> None:
    assert factories.SECRETS.jwt_key not in repr(factories.SECRETS)
    assert factories.SECRETS.jwt_key not in str(factories.SECRETS)


def test_a_secret_the_operator_did_not_create_is_a_conflict() -> None:
    p = factories.platform()
    ours = secrets.jwt_secret(p, factories.SECRETS)
    assert secrets.foreign_secret(p, ours) is None
    foreign = {"metadata": {"name": "demo-jwt", "labels": {"team": "x"}}}
    message = secrets.foreign_secret(p, foreign)
    assert message is not None
    assert "demo-jwt" in message
    assert "never takes over" in message
    other_platform = secrets.jwt_secret(factories.platform(name="other"), factories.SECRETS)
    assert secrets.foreign_secret(p, other_platform) is not None


def test_a_lost_database_secret_is_reported_with_how_to_recover() -> None:
    p = factories.platform()
    message = secrets.lost_secret(p, "demo-database", ["data-demo-postgres-0"])
    assert "data-demo-postgres-0" in message
    assert "kubectl delete pvc" in message
    assert "kubectl apply" in message
    assert factories.SECRETS.database_password not in message


def test_what_is_kept_between_passes_is_the_digest_not_the_values() -> None:
    kept = factories.SECRETS.without_values()
    assert kept.digest() == factories.SECRETS.digest()
    held = (kept.database_password, kept.jwt_key, kept.cache_password, kept.jwt_previous_key)
    assert not any(held)
    p = factories.platform()
    # The pods' config hash (all a later pass needs) is the same from the digest alone.
    assert config.config_hash(p, kept) == config.config_hash(p, factories.SECRETS)
    assert "redacted" in repr(factories.SECRETS)
