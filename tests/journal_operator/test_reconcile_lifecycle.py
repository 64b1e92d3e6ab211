"""A platform goes from one applied resource to Ready on its own, built as the builders say.

Aspects under test (real control plane, operator subprocess, KWOK running the pods):
- the minimal and the full example reach Ready=True with every condition True;
- every child carries the controller owner reference and the standard labels;
- every child on the cluster matches what the builders produce for that platform
  (everything the operator set is there, unchanged);
- status reports the running version, the API URL and the scale selector.

The minimal example runs unchanged (`inference.mode: auto` picks KServe, whose CRD the control
plane has; its simulated KServe controller, hack/cluster/stages-crd, reports InferenceServices
Ready); the full example runs its models as plain Deployments, so both modes are covered.
"""

from __future__ import annotations

from typing import Any

import pytest
from journal_operator import naming, observe, spec
from journal_operator.builders import plan
from journal_operator.builders import secrets as secret_builders

from tests.support import platforms
from tests.support.cluster import LocalCluster, condition_is
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

CONDITIONS = ("Ready", "DatabaseReady", "CacheReady", "Migrated", "ApiReady", "ModelsReady")
FULL_SECRETS = {"journal-redis": {"url": "redis://redis.example:6379/0"}}


def _create_secret(cluster: LocalCluster, namespace: str, name: str, data: dict[str, str]) -> None:
    args = [f"--from-literal={k}={v}" for k, v in data.items()]
    cluster.kubectl("create", "secret", "generic", name, "-n", namespace, *args)


def _built_children(cluster: LocalCluster, jp: dict[str, Any]) -> list[dict[str, Any]]:
    """What the builders produce for the live platform, with the Secrets it generated."""
    p = spec.parse(jp)
    ns = p.namespace
    jwt = cluster.get("secret", naming.jwt_secret_name(p), namespace=ns)["data"]
    db = (
        cluster.get("secret", naming.database_secret_name(p), namespace=ns)["data"]
        if p.spec.database.mode == "managed"
        else None
    )
    cache = (
        cluster.get("secret", naming.cache_secret_name(p), namespace=ns)["data"]
        if p.spec.cache.mode == "managed"
        else None
    )
    generated = secret_builders.read_generated(db, jwt, cache)
    groups = plan.desired_children(
        p,
        secrets=generated,
        version=jp["status"]["version"]["running"],
        migrate=False,
        inference_mode=jp["status"]["inferenceMode"],
    )
    return plan.flatten(groups)


def _assert_built_as_designed(cluster: LocalCluster, jp: dict[str, Any]) -> None:
    uid = jp["metadata"]["uid"]
    children = _built_children(cluster, jp)
    assert children, "the plan built nothing"
    for desired in children:
        kind, name = desired["kind"], desired["metadata"]["name"]
        live = cluster.get(kind, name, namespace=jp["metadata"]["namespace"])
        owners = live["metadata"].get("ownerReferences") or []
        if kind == "Secret" and jp["spec"].get("deletionPolicy", "Retain") == "Retain":
            assert not owners, (kind, name)  # retained data is never garbage-collected
        else:
            assert any(o["uid"] == uid and o.get("controller") for o in owners), (kind, name)
        labels = live["metadata"]["labels"]
        assert labels[naming.LABEL_MANAGED_BY] == naming.MANAGER, (kind, name)
        assert labels[naming.LABEL_INSTANCE] == jp["metadata"]["name"], (kind, name)
        assert observe.is_subset(desired, live), f"{kind} {name} differs from its builder"


def _assert_all_conditions_true(jp: dict[str, Any]) -> None:
    for cond in CONDITIONS:
        assert condition_is(jp, cond), (cond, jp["status"]["conditions"])
    assert condition_is(jp, "Degraded", "False")
    assert condition_is(jp, "Progressing", "False")


def test_minimal_example_reaches_ready_with_children_as_built(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    body = platforms.example("minimal", k8s_namespace)
    k8s_cluster.apply(body)
    jp = platforms.wait_ready(k8s_cluster, k8s_namespace, "demo")
    _assert_all_conditions_true(jp)
    assert jp["status"]["phase"] == "Ready"
    assert jp["status"]["inferenceMode"] == "kserve"
    isvcs = k8s_cluster.get("inferenceservices.serving.kserve.io", namespace=k8s_namespace)
    # The default: one model server, analyzer, for every task.
    assert [i["metadata"]["name"] for i in isvcs["items"]] == ["demo-analyzer"]
    assert [m["name"] for m in jp["status"]["components"]["models"]] == ["analyzer"]
    version = jp["status"]["version"]
    wanted = body["spec"]["version"]
    assert {k: version[k] for k in ("running", "desired", "migrated")} == {
        "running": wanted,
        "desired": wanted,
        "migrated": wanted,
    }
    assert jp["status"]["url"] == f"http://demo-api.{k8s_namespace}.svc"
    assert jp["status"]["selector"]
    _assert_built_as_designed(k8s_cluster, jp)


def test_full_example_reaches_ready_with_children_as_built(
    k8s_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    for name, data in FULL_SECRETS.items():
        _create_secret(k8s_cluster, k8s_namespace, name, data)
    body = platforms.example(
        "full",
        k8s_namespace,
        inference={"mode": "deployment"},
        database={"managed": {"storageClassName": "kwok-volume"}},
    )
    k8s_cluster.apply(body)
    jp = platforms.wait_ready(k8s_cluster, k8s_namespace, "journal")
    _assert_all_conditions_true(jp)
    assert [m["name"] for m in jp["status"]["components"]["models"]] == ["analyzer", "embedding"]
    _assert_built_as_designed(k8s_cluster, jp)
    hpa = k8s_cluster.get("hpa", naming.dns_label("journal-api"), namespace=k8s_namespace)
    assert hpa["spec"]["minReplicas"] == 3
