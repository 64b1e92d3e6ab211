"""Contract between the operator and the API: the containers run as the operator builds them.

The API and worker Deployments and the migrations Job are built for a managed platform;
their environment is resolved the way the kubelet would (ConfigMap and Secret values from
the manifests themselves), with only the Service host names pointed at this test's own
PostgreSQL and Redis and the port at a free one, and the processes get that environment and
nothing else. PostgreSQL checks the password (scram-sha-256 for the generated user) and
Redis requires the generated one. Then:

- every app command the operator runs is one `python -m journal_api` accepts;
- the migrations Job's command migrates an empty database, connecting with the user and
  the percent-escaped password exactly as the generated Secret's URI has them;
- the API Deployment's command serves and answers `/readyz` with 200, with Redis "ok":
  the URL the operator built (password, escaping, database) is accepted by Redis.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis as redis_lib
from journal_api import __main__ as api_main
from journal_operator.builders import plan, secrets
from journal_operator.builders import postgres as postgres_builders

from tests.journal_operator import factories
from tests.support import ports
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

pytestmark = pytest.mark.slow

PASSWORD = "c0ntract/p@ss word%"  # everything a URI must escape
CACHE_PASSWORD = "r3dis:p@ss/w%rd"  # and in a Redis URL
SECRETS = secrets.GeneratedSecrets(
    database_password=PASSWORD, jwt_key="j" * 48, jwt_kid="k1", cache_password=CACHE_PASSWORD
)
# First matching line wins: the generated user must present its password over TCP.
HBA_LINE = f"host all {secrets.DATABASE_USER} 127.0.0.1/32 scram-sha-256  # contract test\n"
DATABASE = "journal_operator_contract"


def _children() -> list[dict[str, Any]]:
    p = factories.platform()
    return plan.flatten(
        plan.desired_children(
            p, secrets=SECRETS, version="1.0.0", migrate=True, inference_mode="deployment"
        )
    )


def _container(children: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    child = next(c for c in children if c["kind"] == kind and c["metadata"]["name"] == name)
    result: dict[str, Any] = child["spec"]["template"]["spec"]["containers"][0]
    return result


def _resolve_env(container: dict[str, Any], children: list[dict[str, Any]]) -> dict[str, str]:
    """The environment the kubelet would give `container`, from the built manifests."""
    configmaps = {c["metadata"]["name"]: c["data"] for c in children if c["kind"] == "ConfigMap"}
    secret_data = {
        c["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in c["data"].items()}
        for c in children
        if c["kind"] == "Secret"
    }
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        env |= configmaps[source["configMapRef"]["name"]]
    for entry in container["env"]:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        value = secret_data[ref["name"]].get(ref["key"])
        if value is None:
            assert ref.get("optional"), f"{entry['name']}: {ref} is missing and not optional"
            continue
        env[entry["name"]] = value
    return env


def _point_at_test_services(
    env: dict[str, str], *, postgres: PostgresServer, redis: RedisServer, port: int
) -> dict[str, str]:
    database = urllib.parse.urlsplit(env["JOURNAL_API_DATABASE_URL"])
    credentials = database.netloc.rsplit("@", 1)[0]  # kept exactly as built
    cache = urllib.parse.urlsplit(env["JOURNAL_API_REDIS_URL"])
    cache_credentials = cache.netloc.rsplit("@", 1)[0]  # kept exactly as built
    return env | {
        "JOURNAL_API_DATABASE_URL": database._replace(
            netloc=f"{credentials}@127.0.0.1:{postgres.port}", path=f"/{DATABASE}"
        ).geturl(),
        "JOURNAL_API_REDIS_URL": cache._replace(
            netloc=f"{cache_credentials}@127.0.0.1:{redis.port}"
        ).geturl(),
        "JOURNAL_API_HOST": "127.0.0.1",
        "JOURNAL_API_PORT": str(port),
    }


def _process_env(env: dict[str, str]) -> dict[str, str]:
    # Only what the operator built: nothing of this test process leaks in to make it work.
    return dict(env)


def _python(command: list[str]) -> list[str]:
    assert command[:1] == ["python"]
    return [sys.executable, *command[1:]]


@pytest.fixture(scope="module")
def database(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """A fresh database set up by the operator's own init script, as the image runs it.

    The script (`postgres.INIT_SCRIPT`, run with the StatefulSet's environment resolved
    from the generated Secret) creates the extensions as the superuser and the application
    role that owns the database, no superuser: the migrations and the API then run as it.
    """
    user = secrets.DATABASE_USER
    postgres_server.psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    postgres_server.psql(f"DROP ROLE IF EXISTS {user}")
    postgres_server.psql(f'CREATE DATABASE "{DATABASE}"')
    _run_init_script(postgres_server)
    hba = postgres_server.data_dir / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(HBA_LINE + original)
    postgres_server.psql("SELECT pg_reload_conf()")
    try:
        yield postgres_server
    finally:
        hba.write_text(original)
        postgres_server.psql("SELECT pg_reload_conf()")
        postgres_server.psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@pytest.fixture(scope="module")
def protected_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The test Redis, requiring the generated password for as long as this module runs."""
    client = redis_lib.Redis(port=redis_server.port)
    client.config_set("requirepass", CACHE_PASSWORD)
    try:
        yield redis_server
    finally:
        redis_lib.Redis(port=redis_server.port, password=CACHE_PASSWORD).config_set(
            "requirepass", ""
        )


def test_postgres_refuses_a_wrong_password(database: PostgresServer) -> None:
    # Proof that the password is checked at all (the test server trusts everyone else).
    url = f"postgresql://{secrets.DATABASE_USER}:wrong@127.0.0.1:{database.port}/{DATABASE}"
    result = subprocess.run(
        [str(database.bin_dir / "psql"), url, "-c", "SELECT 1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr


def _run_init_script(server: PostgresServer) -> None:
    p = factories.platform()
    init = postgres_builders.database_init_config(p)
    statefulset = postgres_builders.database_statefulset(p)
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    children = _children()
    env = _resolve_env({"envFrom": [], "env": container["env"]}, children)
    env |= {
        # The image's superuser; the test server's is its own.
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": DATABASE,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "PATH": f"{server.bin_dir}:/usr/bin:/bin",
    }
    script = init["data"]["01-app-role.sh"]
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_init_script_makes_the_api_role_the_owner_and_no_superuser(
    database: PostgresServer,
) -> None:
    user = secrets.DATABASE_USER
    rolsuper = f"SELECT rolsuper FROM pg_roles WHERE rolname = '{user}'"  # noqa: S608
    assert database.psql(rolsuper) == "f"
    owner_of = f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{DATABASE}'"  # noqa: S608
    owner = database.psql(owner_of)
    assert owner == user
    assert "password authentication failed" not in _psql_as(database, user, PASSWORD)
    # The API's connection URI names that role, never the superuser.
    uri = urllib.parse.urlsplit(
        _resolve_env(_container(_children(), "Deployment", "demo-api"), _children())[
            "JOURNAL_API_DATABASE_URL"
        ]
    )
    assert uri.username == user


def _psql_as(server: PostgresServer, user: str, password: str) -> str:
    quoted = urllib.parse.quote(password, safe="")
    url = f"postgresql://{user}:{quoted}@127.0.0.1:{server.port}/{DATABASE}"
    result = subprocess.run(
        [str(server.bin_dir / "psql"), url, "-At", "-c", "SELECT current_user"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("kind", "name"),
    [("Deployment", "demo-api"), ("Job", "demo-migrate-1-0-0"), ("Deployment", "demo-worker")],
)
def test_app_commands_are_ones_the_api_accepts(kind: str, name: str) -> None:
    command = _container(_children(), kind, name)["command"]
    assert command[:3] == ["python", "-m", "journal_api"]
    parser = api_main.build_parser()
    choices = next(a.choices for a in parser._actions if a.dest == "command")
    assert command[3] in (choices or {}), f"python -m journal_api has no {command[3]!r} command"
    parser.parse_args(command[3:])


def test_migrations_job_migrates_and_api_serves_ready(
    database: PostgresServer, protected_redis: RedisServer
) -> None:
    redis_server = protected_redis
    children = _children()
    port = ports.free_port()

    job = _container(children, "Job", "demo-migrate-1-0-0")
    env = _point_at_test_services(
        _resolve_env(job, children), postgres=database, redis=redis_server, port=port
    )
    migrated = subprocess.run(
        _python(job["command"]), env=_process_env(env), capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert (
        database.psql("SELECT extname FROM pg_extension WHERE extname = 'vector'", DATABASE)
        == "vector"
    )

    api = _container(children, "Deployment", "demo-api")
    env = _point_at_test_services(
        _resolve_env(api, children), postgres=database, redis=redis_server, port=port
    )
    with subprocess.Popen(
        _python(api["command"]),
        env=_process_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as server:
        try:
            probe = api["readinessProbe"]["httpGet"]["path"]
            assert _wait_for_status(f"http://127.0.0.1:{port}{probe}", server) == 200
            ready = httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5).json()
            assert ready["redis"] == "ok", (
                "the API cannot use Redis with the URL the operator built"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_for_status(url: str, server: subprocess.Popen[str], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    last: int | str = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read() if server.stdout else ""
            raise AssertionError(f"the API exited with {server.returncode}: {output[-3000:]}")
        try:
            last = httpx.get(url, timeout=2).status_code
            if last == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered 200 (last: {last})")
