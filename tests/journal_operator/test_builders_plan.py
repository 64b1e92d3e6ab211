"""plan.desired_children: the whole set of children, and what holds for every one of them.

- groups come in apply order; the steps include or leave out children by spec and mode;
- every child has the namespace, the controller owner reference and the standard labels;
- no two children share a kind and name;
- core children validate against Kubernetes' schemas (kubernetes-validate, strict), and
  InferenceServices against KServe's own CRD schema.
"""

from __future__ import annotations

import collections
from typing import Any

import jsonschema
import pytest
from journal_operator import manifests, naming
from journal_operator.builders import plan

from tests import skips
from tests.journal_operator import factories, openapi

FULL_SPEC = factories.example("full")["spec"]
SPECS: dict[str, dict[str, Any]] = {
    "minimal": {},
    "full": {k: v for k, v in FULL_SPEC.items() if k != "version"},
    "external-everything": {
        "database": {"mode": "external", "external": {"secretRef": {"name": "pg"}}},
        "cache": {"mode": "disabled"},
        "inference": {"models": []},
    },
}


def _children(
    fields: dict[str, Any] | None = None,
    *,
    mode: plan.InferenceMode = "kserve",
    version: str | None = "1.0.0",
    migrate: bool = True,
) -> list[plan.Group]:
    return plan.desired_children(
        factories.platform(fields),
        secrets=factories.SECRETS,
        version=version,
        migrate=migrate,
        inference_mode=mode,
    )


def _all(groups: list[plan.Group]) -> list[manifests.Manifest]:
    return plan.flatten(groups)


def _kinds(groups: list[plan.Group], step: plan.Step) -> list[str]:
    return [m["kind"] for g in groups if g.step is step for m in g.manifests]


def test_groups_come_in_apply_order() -> None:
    assert [g.step for g in _children()] == [
        plan.Step.CONFIG,
        plan.Step.DATABASE,
        plan.Step.CACHE,
        plan.Step.MIGRATIONS,
        plan.Step.APP,
        plan.Step.INFERENCE,
        plan.Step.NETWORK,
    ]


def test_minimal_platform_children() -> None:
    kinds = collections.Counter(m["kind"] for m in _all(_children(mode="deployment")))
    assert kinds == {
        "ConfigMap": 2,  # settings, database init SQL
        "Secret": 3,  # database, jwt, redis-auth
        "Service": 4,  # postgres, redis, api, the analyzer model server
        "StatefulSet": 1,
        "Deployment": 4,  # redis, api, worker, the analyzer model server
        "Job": 1,
        "PodDisruptionBudget": 1,
        "HorizontalPodAutoscaler": 1,  # the model server's
        "NetworkPolicy": 4,
    }


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("mode", ["kserve", "deployment"])
def test_every_child_is_owned_labelled_and_namespaced(name: str, mode: plan.InferenceMode) -> None:
    platform = factories.platform(SPECS[name])
    for child in _all(_children(SPECS[name], mode=mode)):
        meta = child["metadata"]
        assert meta["namespace"] == factories.NAMESPACE
        if child["kind"] == "Secret" and platform.spec.deletion_policy == "Retain":
            # Retained data: garbage collection must never take the credentials.
            assert "ownerReferences" not in meta
        else:
            assert meta["ownerReferences"] == [naming.owner_reference(platform)]
        assert meta["labels"].items() >= naming.platform_selector(platform).items()
        assert meta["labels"][naming.LABEL_COMPONENT] in set(naming.Component)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("mode", ["kserve", "deployment"])
def test_no_two_children_share_kind_and_name(name: str, mode: plan.InferenceMode) -> None:
    refs = [manifests.ref(m) for m in _all(_children(SPECS[name], mode=mode))]
    assert len(refs) == len(set(refs))


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("mode", ["kserve", "deployment"])
def test_core_children_validate_against_kubernetes_schemas(
    name: str, mode: plan.InferenceMode
) -> None:
    for child in _all(_children(SPECS[name], mode=mode)):
        if child["apiVersion"].startswith("serving.kserve.io"):
            continue
        openapi.validate_kubernetes(child)


@pytest.mark.parametrize("name", SPECS)
def test_inference_services_validate_against_kserve_crd(name: str) -> None:
    if not openapi.KSERVE_CRD_PATH.exists():
        # KServe's CRD ships only in ../shared (absent on a user's machine); no other copy.
        pytest.skip(f"{skips.KSERVE_CRD_ABSENT} {openapi.KSERVE_CRD_PATH} (../shared absent)")
    validator = openapi.kserve_validator()
    services = [m for m in _all(_children(SPECS[name])) if m["kind"] == "InferenceService"]
    assert len(services) == len(factories.platform(SPECS[name]).spec.inference.models)
    for service in services:
        validator.validate(service)


def test_default_inference_service_with_grpc_port_validates_against_kserve_crd() -> None:
    """One server for every task, HTTP and gRPC ports in the predictor container."""
    if not openapi.KSERVE_CRD_PATH.exists():
        # KServe's CRD ships only in ../shared (absent on a user's machine); no other copy.
        pytest.skip(f"{skips.KSERVE_CRD_ABSENT} {openapi.KSERVE_CRD_PATH} (../shared absent)")
    (service,) = [m for m in _all(_children()) if m["kind"] == "InferenceService"]
    openapi.kserve_validator().validate(service)
    (container,) = service["spec"]["predictor"]["containers"]
    assert service["metadata"]["name"] == "demo-analyzer"
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [
        ("http", 8080),
        ("grpc", 8081),
    ]


def test_first_install_leaves_api_and_worker_out_until_migrated() -> None:
    groups = _children(version=None)
    assert _kinds(groups, plan.Step.APP) == []
    assert _kinds(groups, plan.Step.MIGRATIONS) == ["Job"]
    # Model servers do not need the schema: they start at spec.version right away.
    images = {
        c["image"]
        for m in _all(groups)
        if m["kind"] == "InferenceService"
        for c in m["spec"]["predictor"]["containers"]
    }
    assert images == {"ghcr.io/journal-platform/journal-inference:1.0.0"}


def test_api_keeps_serving_old_version_while_new_one_migrates() -> None:
    groups = _children({"version": "2.0.0"}, version="1.0.0", migrate=True)
    job = next(m for m in _all(groups) if m["kind"] == "Job")
    api = next(
        m for m in _all(groups) if m["metadata"]["name"] == "demo-api" and m["kind"] == "Deployment"
    )
    assert job["metadata"]["labels"][naming.LABEL_VERSION] == "2.0.0"
    assert api["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")


def test_no_job_unless_asked() -> None:
    assert _kinds(_children(migrate=False), plan.Step.MIGRATIONS) == []


def test_external_services_have_no_workloads() -> None:
    groups = _children(SPECS["external-everything"])
    assert _kinds(groups, plan.Step.DATABASE) == []
    assert _kinds(groups, plan.Step.CACHE) == []
    assert "demo-database" not in {
        m["metadata"]["name"] for m in _all(groups) if m["kind"] == "Secret"
    }


def test_inference_mode_picks_the_kind() -> None:
    assert set(_kinds(_children(mode="kserve"), plan.Step.INFERENCE)) == {"InferenceService"}
    assert set(_kinds(_children(mode="deployment"), plan.Step.INFERENCE)) == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
    }


@pytest.mark.parametrize(
    ("mode", "installed", "expected"),
    [
        ("auto", True, "kserve"),
        ("auto", False, "deployment"),
        ("kserve", False, "kserve"),
        ("deployment", True, "deployment"),
    ],
)
def test_resolve_inference_mode(mode: str, installed: bool, expected: str) -> None:
    p = factories.platform({"inference": {"mode": mode}})
    assert plan.resolve_inference_mode(p, kserve_installed=installed) == expected


def test_same_input_gives_identical_children() -> None:
    assert _children(SPECS["full"]) == _children(SPECS["full"])


def test_secrets_never_appear_in_plain_text() -> None:
    text = repr(_all(_children()))
    assert factories.SECRETS.jwt_key not in text
    assert factories.SECRETS.database_password not in text


def test_kubernetes_validation_rejects_unknown_fields() -> None:
    """The offline check above would catch a misspelt field."""
    service = next(m for m in _all(_children()) if m["kind"] == "Service")
    service["spec"]["selectr"] = {}
    with pytest.raises(jsonschema.ValidationError, match="selectr"):
        openapi.validate_kubernetes(service)


def test_kserve_validation_rejects_unknown_fields() -> None:
    if not openapi.KSERVE_CRD_PATH.exists():
        # KServe's CRD ships only in ../shared (absent on a user's machine); no other copy.
        pytest.skip(f"{skips.KSERVE_CRD_ABSENT} {openapi.KSERVE_CRD_PATH} (../shared absent)")
    service = next(m for m in _all(_children()) if m["kind"] == "InferenceService")
    service["spec"]["predictor"]["minReplica"] = 1
    with pytest.raises(jsonschema.ValidationError, match="minReplica"):
        openapi.kserve_validator().validate(service)
