"""Contract: the API and migrations the operator builds run, as built, against real servers.

The operator and the API are written separately; this test proves they agree on every
setting's name and format. It takes the API Deployment and the migrations Job the operator
created on the cluster, resolves their environment the way the kubelet would (envFrom,
configMapKeyRef and secretKeyRef read from the cluster, then ``$(VAR)`` expansion), points
the in-cluster service host names at the test's own PostgreSQL and Redis, and runs the Job's
command, then the Deployment's command, as local processes.

Aspects under test:
- the migrations Job's command migrates a database created for the generated user;
- the API Deployment's command starts and answers ``/readyz`` with 200.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support import platforms
from tests.support.cluster import LocalCluster
from tests.support.operator_process import OperatorProcess
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = workload["spec"]["template"]["spec"]["containers"][0]
    return container


def resolve_env(cluster: LocalCluster, namespace: str, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet builds it (envFrom first, then env)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            data = (
                cluster.get("configmap", source["configMapRef"]["name"], namespace=namespace).get(
                    "data"
                )
                or {}
            )
        else:
            raw = (
                cluster.get("secret", source["secretRef"]["name"], namespace=namespace).get("data")
                or {}
            )
            data = {k: base64.b64decode(v).decode() for k, v in raw.items()}
        env.update({prefix + k: v for k, v in data.items()})
    for var in container.get("env") or []:
        value_from = var.get("valueFrom")
        if value_from is None:
            env[var["name"]] = _VAR_REF.sub(
                lambda m: env.get(m.group(1), m.group(0)), var.get("value", "")
            )
            continue
        ref = value_from.get("secretKeyRef") or value_from.get("configMapKeyRef")
        kind = "secret" if "secretKeyRef" in value_from else "configmap"
        obj = cluster.get_or_none(kind, ref["name"], namespace=namespace)
        data = (obj or {}).get("data") or {}
        if ref["key"] not in data:
            assert ref.get("optional"), f"{var['name']}: {kind} {ref['name']}/{ref['key']} missing"
            continue
        value = data[ref["key"]]
        env[var["name"]] = base64.b64decode(value).decode() if kind == "secret" else value
    return env


def expand_command(container: dict[str, Any], env: dict[str, str]) -> list[str]:
    """command + args with ``$(VAR)`` expanded; ``python`` becomes this interpreter."""
    argv = [*container.get("command", []), *container.get("args", [])]
    argv = [_VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), arg) for arg in argv]
    if argv and argv[0] == "python":
        argv[0] = sys.executable
    return argv


def point_at_local(env: dict[str, str], hosts: dict[str, str], *, database: str) -> dict[str, str]:
    """Rewrite in-cluster Service hosts to local servers and the database name to ours."""
    rewritten: dict[str, str] = {}
    for key, value in env.items():
        for service_host, local in hosts.items():
            value = re.sub(rf"{re.escape(service_host)}(:\d+)?", local, value)
        rewritten[key] = value
    url = urllib.parse.urlsplit(rewritten["JOURNAL_API_DATABASE_URL"])
    rewritten["JOURNAL_API_DATABASE_URL"] = url._replace(path=f"/{database}").geturl()
    return rewritten


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the API process exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                return int(resp.status)
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("the API never answered /readyz")


def test_operator_built_api_and_migrations_run_against_real_servers(
    k8s_cluster: LocalCluster,
    k8s_namespace: str,
    journal_operator: OperatorProcess,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    k8s_cluster.apply(platforms.platform("contract", k8s_namespace))
    platforms.wait_ready(k8s_cluster, k8s_namespace, "contract")
    job = k8s_cluster.get("job", "contract-migrate-1-0-0", namespace=k8s_namespace)
    api = k8s_cluster.get("deployment", "contract-api", namespace=k8s_namespace)
    secret = k8s_cluster.get("secret", "contract-database", namespace=k8s_namespace)["data"]
    user = base64.b64decode(secret["username"]).decode()
    password = base64.b64decode(secret["password"]).decode()
    init_files = k8s_cluster.get("configmap", "contract-postgres-init", namespace=k8s_namespace)[
        "data"
    ]

    # What the PostgreSQL image does on a new volume: initdb creates POSTGRES_DB as the
    # superuser, then runs each init file (a shell script sourced, SQL through psql).
    database = f"contract_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f'CREATE DATABASE "{database}"')
    # The session's server outlives this platform: a role of that name left by an earlier
    # test gets this platform's password, as the script gives it on a fresh volume.
    escaped = password.replace("'", "''")
    postgres_server.psql(
        f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN "
        f"EXECUTE format('ALTER ROLE %I PASSWORD %L', '{user}', '{escaped}'); END IF; END $$"
    )
    image_env = {
        "POSTGRES_USER": "postgres",  # the test server's superuser
        "POSTGRES_DB": database,
        "JOURNAL_APP_USER": user,
        "JOURNAL_APP_PASSWORD": password,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres_server.port),
        "PATH": f"{postgres_server.bin_dir}:/usr/bin:/bin",
    }
    for name, content in sorted(init_files.items()):
        if name.endswith(".sh"):
            ran = subprocess.run(
                ["bash", "-c", content],
                env=image_env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert ran.returncode == 0, f"{name}: {ran.stderr}"
        else:
            postgres_server.psql(content, database=database)
    hosts = {
        f"contract-postgres.{k8s_namespace}.svc": f"127.0.0.1:{postgres_server.port}",
        f"contract-redis.{k8s_namespace}.svc": f"127.0.0.1:{redis_server.port}",
    }

    job_container = _container(job)
    job_env = point_at_local(
        resolve_env(k8s_cluster, k8s_namespace, job_container), hosts, database=database
    )
    migrate = subprocess.run(
        expand_command(job_container, job_env),
        env={**os.environ, **job_env},
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr.decode()[-4000:]
    tables = postgres_server.psql(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        database=database,
    )
    assert int(tables) > 0, "the migrations created no tables"

    api_container = _container(api)
    api_env = point_at_local(
        resolve_env(k8s_cluster, k8s_namespace, api_container), hosts, database=database
    )
    assert api_env["JOURNAL_API_PORT"] == str(api_container["ports"][0]["containerPort"])
    port = free_port()  # the only change: a local port instead of the container's
    api_env.update(JOURNAL_API_HOST="127.0.0.1", JOURNAL_API_PORT=str(port))
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            expand_command(api_container, api_env),
            env={**os.environ, **api_env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        assert _wait_ready(port, process) == 200, log_path.read_text()[-4000:]
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
