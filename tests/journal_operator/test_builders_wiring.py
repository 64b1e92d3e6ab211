"""The children fit together, for any valid spec (hypothesis) and in both inference modes.

- every Service, PodDisruptionBudget and NetworkPolicy selects pods some workload creates,
  and every HPA, Ingress and StatefulSet names an object that exists;
- every ConfigMap and Secret a pod reads is built here, or is the user's own Secret named
  in the spec;
- the model server URL the API and the worker get names a model server's Service;
- every pod is hardened, and every workload's selector matches its own pod template;
- names are DNS labels of at most 63 characters, and core kinds validate strictly.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journal_operator import manifests, naming, spec
from journal_operator.builders import plan

from tests.journal_operator import factories, openapi

WORKLOADS = {"Deployment", "StatefulSet", "Job"}
RESOURCES = st.fixed_dictionaries(
    {},
    optional={
        "requests": st.fixed_dictionaries(
            {"cpu": st.sampled_from(["100m", "1", 2]), "memory": st.sampled_from(["64Mi", "1Gi"])}
        ),
        "limits": st.fixed_dictionaries({"memory": st.sampled_from(["1Gi", "4Gi"])}),
    },
)
MODEL = st.fixed_dictionaries(
    {"minReplicas": st.integers(1, 3), "maxReplicas": st.integers(3, 6)},
    optional={
        # Left out, the task is `all`.
        "task": st.sampled_from(["all", "emotion", "sentiment", "embedding"]),
        "scaleMetric": st.sampled_from(["cpu", "memory"]),
        "resources": RESOURCES,
    },
)
MODELS = (
    st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9]{0,19}\Z"), MODEL, max_size=4)
    .map(lambda named: [{"name": name, **model} for name, model in named.items()])
    .filter(
        # The spec requires a task `all` server whenever it lists any (the worker's analyzer).
        lambda models: not models or any(m.get("task", "all") == "all" for m in models)
    )
)
SPECS = st.fixed_dictionaries(
    {},
    optional={
        "version": st.from_regex(r"\A(0|[1-9][0-9]?)\.[0-9]\.[0-9](-rc\.[0-9])?\Z"),
        "api": st.fixed_dictionaries(
            {},
            optional={
                "replicas": st.integers(1, 10),
                "autoscaling": st.fixed_dictionaries({"enabled": st.booleans()}),
                "resources": RESOURCES,
                "ingress": st.fixed_dictionaries(
                    {"enabled": st.booleans(), "host": st.just("j.example.com")},
                    optional={"tlsSecretName": st.just("tls")},
                ),
                "env": st.just([{"name": "JOURNAL_API_LOG_LEVEL", "value": "DEBUG"}]),
            },
        ),
        "worker": st.fixed_dictionaries({"replicas": st.integers(0, 5)}),
        "database": st.sampled_from(
            [
                {"mode": "managed", "managed": {"storageClassName": "fast"}},
                {"mode": "external", "external": {"secretRef": {"name": "user-pg"}}},
            ]
        ),
        "cache": st.sampled_from(
            [
                {"mode": "managed"},
                {"mode": "disabled"},
                {"mode": "external", "external": {"secretRef": {"name": "user-redis"}}},
            ]
        ),
        "inference": st.fixed_dictionaries({"models": MODELS}),
        "images": st.fixed_dictionaries(
            {}, optional={"pullSecrets": st.just(["regcred"]), "api": st.just("x/api:1")}
        ),
        "deletionPolicy": st.sampled_from(["Retain", "Delete"]),
    },
)


def _pod_templates(children: list[manifests.Manifest]) -> list[dict[str, Any]]:
    return [c["spec"]["template"] for c in children if c["kind"] in WORKLOADS]


def _selects_some_pods(selector: dict[str, str], children: list[manifests.Manifest]) -> bool:
    return any(
        t["metadata"]["labels"].items() >= selector.items() for t in _pod_templates(children)
    )


def _named(children: list[manifests.Manifest], kind: str) -> set[str]:
    return {c["metadata"]["name"] for c in children if c["kind"] == kind}


def _user_secrets(p: spec.Platform) -> set[str]:
    refs = [p.spec.database.external, p.spec.cache.external]
    return {r.secret_ref.name for r in refs if r is not None}


def _check_references(p: spec.Platform, children: list[manifests.Manifest]) -> None:
    secrets = _named(children, "Secret") | _user_secrets(p)
    configmaps = _named(children, "ConfigMap")
    for template in _pod_templates(children):
        pod = template["spec"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configmaps
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    assert ref["name"] in secrets, ref


def _check_selectors(children: list[manifests.Manifest], mode: str) -> None:
    services = _named(children, "Service")
    for child in children:
        kind, body = child["kind"], child.get("spec", {})
        if kind == "Service":
            assert _selects_some_pods(body["selector"], children), child["metadata"]["name"]
        elif kind in {"PodDisruptionBudget", "NetworkPolicy"}:
            selector = body["podSelector" if kind == "NetworkPolicy" else "selector"]["matchLabels"]
            # Model servers' pods come from KServe in kserve mode.
            if mode == "deployment" or selector.get("app.kubernetes.io/component") != "model":
                assert _selects_some_pods(selector, children), child["metadata"]["name"]
        elif kind == "HorizontalPodAutoscaler":
            assert body["scaleTargetRef"]["name"] in _named(children, "Deployment")
        elif kind == "Ingress":
            backend = body["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
            assert backend in services
        elif kind == "StatefulSet":
            assert body["serviceName"] in services
        if kind in {"Deployment", "StatefulSet"}:
            labels = body["template"]["metadata"]["labels"]
            assert labels.items() >= body["selector"]["matchLabels"].items()


def _check_inference_url(p: spec.Platform, children: list[manifests.Manifest], mode: str) -> None:
    (configmap,) = [
        c
        for c in children
        if c["kind"] == "ConfigMap" and c["metadata"]["name"] == naming.config_name(p)
    ]
    url = configmap["data"].get("JOURNAL_API_INFERENCE_URL")
    if url is None:
        return
    host = url.removeprefix("http://").split(".")[0]
    if mode == "deployment":
        assert host in _named(children, "Service")
    else:  # KServe names the Service of InferenceService X "X-predictor".
        assert host in {f"{name}-predictor" for name in _named(children, "InferenceService")}


def _check_hardening(children: list[manifests.Manifest]) -> None:
    for template in _pod_templates(children):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"] == {"drop": ["ALL"]}


def _check_all(fields: dict[str, Any], mode: plan.InferenceMode) -> None:
    p = factories.platform(fields)
    children = plan.flatten(
        plan.desired_children(
            p, secrets=factories.SECRETS, version=p.spec.version, migrate=True, inference_mode=mode
        )
    )
    refs = [manifests.ref(c) for c in children]
    assert len(refs) == len(set(refs))
    _check_references(p, children)
    _check_selectors(children, mode)
    _check_inference_url(p, children, mode)
    _check_hardening(children)
    for child in children:
        name = child["metadata"]["name"]
        assert len(name) <= 63
        assert name == name.lower()
        if child["apiVersion"].startswith("serving.kserve.io"):
            if openapi.KSERVE_CRD_PATH.exists():
                openapi.kserve_validator().validate(child)
        else:
            openapi.validate_kubernetes(child)


def test_full_example_fits_together() -> None:
    fields = {k: v for k, v in factories.example("full")["spec"].items() if k != "version"}
    for mode in ("kserve", "deployment"):
        _check_all(fields, mode)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPECS, st.sampled_from(["kserve", "deployment"]))
def test_any_valid_spec_fits_together(fields: dict[str, Any], mode: plan.InferenceMode) -> None:
    _check_all(fields, mode)
