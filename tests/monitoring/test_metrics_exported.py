"""Every metric an alert or a dashboard panel reads is exported by our own processes.

The names are read out of the shipped rules and panel queries (tests/monitoring/promql.py), and
checked against what the real processes serve on ``/metrics``, started as a deployment runs
them: ``python -m journal_api serve`` and ``worker`` on real PostgreSQL and Redis, the model
server (``inference_server``), and the operator (``journal_operator``) on the local control
plane, reconciling a real JournalPlatform. A name is exported when the process declares it
(``# TYPE``): a counter ``x`` serves ``x_total``, a histogram ``x_bucket``, ``x_sum`` and
``x_count``. Each metric prefix belongs to one process, so a rule cannot be satisfied by the
wrong one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.journal_api import conftest as api_conftest
from tests.journal_api.processes import ApiProcess
from tests.monitoring import conftest, promql
from tests.support import platforms, ports
from tests.support.cluster import LocalCluster
from tests.support.inference import InferenceServer
from tests.support.operator_process import OperatorProcess
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

# Metric prefix -> the process that must export it.
OWNERS = {
    "journal_api_": "api",
    "journal_worker_": "worker",
    "journal_inference_": "inference",
    "journal_operator_": "operator",
}


def exposed_names(text: str) -> set[str]:
    """Every series name a /metrics text declares or serves."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count"))
        elif family.type == "summary":
            names.update({family.name, f"{family.name}_sum", f"{family.name}_count"})
        else:
            names.add(family.name)
    return names


def referenced() -> dict[str, set[str]]:
    """Metric name -> where it is read (alert names and panel titles)."""
    found: dict[str, set[str]] = {}
    for rule in conftest.alert_rules():
        for name in promql.metric_names(rule["expr"]):
            found.setdefault(name, set()).add(f"alert {rule['alert']}")
    for title, expr in conftest.panel_queries():
        for name in promql.metric_names(promql.substitute(expr)):
            found.setdefault(name, set()).add(f"panel {title!r}")
    return found


def owner(name: str) -> str:
    for prefix, process in OWNERS.items():
        if name.startswith(prefix):
            return process
    raise AssertionError(f"{name} is exported by none of our processes")


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return response.text


@pytest.fixture(scope="module")
def api_env(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    database_url = postgres_server.create_database(f"monitoring_{uuid.uuid4().hex[:8]}")
    env = ApiProcess(
        tmp_path_factory.mktemp("api"), database_url=database_url, redis_url=redis_server.url
    ).env
    subprocess.run(
        [sys.executable, "-m", "journal_api", "migrate"],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return env


@pytest.fixture(scope="module")
def api_metrics(api_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    api = ApiProcess(
        tmp_path_factory.mktemp("api-log"),
        database_url=api_env["JOURNAL_API_DATABASE_URL"],
        redis_url=api_env["JOURNAL_API_REDIS_URL"],
    )
    api.start()
    try:
        # Some traffic, so that the labelled series exist as well as their declarations.
        for path in ("/healthz", "/readyz", "/api/v1/entries", "/no-such-route"):
            httpx.get(f"{api.url}{path}", timeout=30)
        yield scrape(f"{api.url}/metrics")
    finally:
        api.stop()


@pytest.fixture(scope="module")
def worker_metrics(api_env: dict[str, str]) -> Iterator[str]:
    health_port = ports.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JOURNAL_API_")},
        **api_env,
        "JOURNAL_API_JWT_KEY": api_conftest.TEST_JWT_KEY,
        "JOURNAL_API_WORKER_HEALTH_PORT": str(health_port),
        "JOURNAL_API_WORKER_POLL_SECONDS": "0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "journal_api", "worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ports.wait_for_port(health_port, timeout=60)
        base = f"http://127.0.0.1:{health_port}"
        deadline = time.monotonic() + 30
        text = scrape(f"{base}/metrics")
        # The queue gauge is filled on the worker's first periodic pass.
        while "journal_worker_queue_jobs{" not in text and time.monotonic() < deadline:
            time.sleep(0.2)
            text = scrape(f"{base}/metrics")
        yield text
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def inference_metrics(inference_server: InferenceServer) -> str:
    body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a calm day"]}]}
    httpx.post(f"{inference_server.url}/v2/models/analyzer/infer", json=body, timeout=60)
    return scrape(f"{inference_server.url}/metrics")


@pytest.fixture(scope="module")
def operator_metrics(k8s_cluster: LocalCluster, journal_operator: OperatorProcess) -> Iterator[str]:
    # A platform the operator reconciles, so that its condition series exist.
    namespace = f"mon-{uuid.uuid4().hex[:8]}"
    k8s_cluster.create_namespace(namespace)
    try:
        k8s_cluster.apply(platforms.platform("observed", namespace))
        url = f"http://127.0.0.1:{journal_operator.metrics_port}/metrics"
        deadline = time.monotonic() + 120
        text = scrape(url)
        marker = f'namespace="{namespace}"'
        while marker not in text and time.monotonic() < deadline:
            time.sleep(1)
            text = scrape(url)
        assert marker in text, "the operator exported no condition of the platform it reconciled"
        yield text
    finally:
        k8s_cluster.delete("namespace", namespace)


def _check(process: str, text: str) -> None:
    exposed = exposed_names(text)
    wanted = {name: where for name, where in referenced().items() if owner(name) == process}
    assert wanted, f"no rule or panel reads a metric of the {process}"
    missing = {name: sorted(where) for name, where in wanted.items() if name not in exposed}
    assert not missing, f"read but not exported by the {process}: {missing}"


def test_every_metric_read_belongs_to_one_of_our_processes() -> None:
    names = referenced()
    assert len(names) >= 15
    assert {owner(name) for name in names} == set(OWNERS.values())


def test_api_exports_what_is_read(api_metrics: str) -> None:
    _check("api", api_metrics)
    assert 'journal_api_requests_total{method="GET",route="/healthz",status="200"}' in api_metrics


def test_worker_exports_what_is_read(worker_metrics: str) -> None:
    _check("worker", worker_metrics)
    assert 'journal_worker_queue_jobs{status="queued"}' in worker_metrics


def test_model_server_exports_what_is_read(inference_metrics: str) -> None:
    _check("inference", inference_metrics)


@pytest.mark.cluster
def test_operator_exports_what_is_read(operator_metrics: str) -> None:
    _check("operator", operator_metrics)
    assert "journal_operator_platform_condition{" in operator_metrics


def test_a_metric_nobody_exports_is_caught(api_metrics: str) -> None:
    # The check itself: a name the API does not serve is reported as missing.
    assert "journal_api_requests_totl" not in exposed_names(api_metrics)
    assert promql.metric_names("rate(journal_api_requests_totl[5m])") == {
        "journal_api_requests_totl"
    }
