"""The API's Deployment, Service, PodDisruptionBudget, HPA and Ingress.

- probes on /healthz (startup, liveness) and /readyz (readiness), preStop pause, grace;
- hardened security (non-root, read-only root, no capabilities, RuntimeDefault seccomp);
- rolling update from spec.rollout, maxUnavailable 0 by default, progress deadline;
- replicas from the spec, or left to the HPA when autoscaling is enabled;
- the config hash on the pod template; the version on labels but not on the selector;
- Service, PDB, HPA and Ingress wiring.
"""

from __future__ import annotations

from typing import Any

import pytest
from journal_operator import naming
from journal_operator.builders import api, config

from tests.journal_operator import factories

IMAGE = "ghcr.io/journal-platform/journal-api:1.0.0"


def _deployment(
    fields: dict[str, Any] | None = None, *, config_hash: str = "abc"
) -> dict[str, Any]:
    return api.api_deployment(
        factories.platform(fields), image=IMAGE, version="1.0.0", config_hash=config_hash
    )


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def test_runs_the_api_server_on_its_port() -> None:
    container = _container(_deployment())
    assert container["image"] == IMAGE
    assert container["command"] == ["python", "-m", "journal_api", "serve"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_probes_use_health_and_readiness_endpoints() -> None:
    container = _container(_deployment())
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_graceful_shutdown_pauses_before_stopping() -> None:
    deployment = _deployment()
    pod = deployment["spec"]["template"]["spec"]
    assert _container(deployment)["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}
    assert pod["terminationGracePeriodSeconds"] > 5


def test_pod_is_hardened() -> None:
    pod = _deployment()["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    # A writable /tmp under the read-only root, no API token, no service-link variables.
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False


def test_rolling_update_keeps_capacity_by_default() -> None:
    spec = _deployment()["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
    }
    assert spec["progressDeadlineSeconds"] == 600


def test_rollout_settings_come_from_spec() -> None:
    spec = _deployment(
        {"rollout": {"maxSurge": 2, "maxUnavailable": "10%", "progressDeadlineSeconds": 120}}
    )["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": "10%"}
    assert spec["progressDeadlineSeconds"] == 120


def test_replicas_follow_spec() -> None:
    assert _deployment({"api": {"replicas": 4}})["spec"]["replicas"] == 4


def test_replicas_left_to_hpa_once_it_owns_them() -> None:
    p = factories.platform({"api": {"replicas": 3, "autoscaling": {"enabled": True}}})
    owned = api.api_deployment(
        p, image=IMAGE, version="1.0.0", config_hash="abc", hpa_owns_replicas=True
    )
    assert "replicas" not in owned["spec"]
    assert owned["metadata"]["annotations"] == {api.REPLICAS_OWNER_ANNOTATION: "hpa"}


def test_replicas_kept_until_the_hpa_acts_so_enabling_it_never_drops_to_one() -> None:
    fields = {"api": {"replicas": 3, "autoscaling": {"enabled": True, "minReplicas": 2}}}
    assert _deployment(fields)["spec"]["replicas"] == 3
    fields = {"api": {"replicas": 1, "autoscaling": {"enabled": True, "minReplicas": 2}}}
    assert _deployment(fields)["spec"]["replicas"] == 2


def test_config_hash_is_on_pod_template() -> None:
    template = _deployment(config_hash="f00d")["spec"]["template"]
    assert template["metadata"]["annotations"] == {naming.SPEC_HASH_ANNOTATION: "f00d"}


def test_selector_is_stable_and_matches_pod_labels() -> None:
    deployment = _deployment()
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels.items() >= selector.items()
    assert naming.LABEL_VERSION not in selector
    assert labels[naming.LABEL_VERSION] == "1.0.0"
    other = api.api_deployment(
        factories.platform({"version": "2.0.0"}), image="x:2", version="2.0.0", config_hash="z"
    )
    assert other["spec"]["selector"] == deployment["spec"]["selector"]


def test_resources_come_from_spec() -> None:
    container = _container(
        _deployment({"api": {"resources": {"requests": {"cpu": 1}, "limits": {"memory": "1Gi"}}}})
    )
    assert container["resources"] == {"requests": {"cpu": 1}, "limits": {"memory": "1Gi"}}


def test_settings_come_from_configmap_and_secrets() -> None:
    container = _container(_deployment())
    assert container["envFrom"] == [{"configMapRef": {"name": "demo-config"}}]
    assert config.app_env(factories.platform())[1] == container["env"]


def test_pull_secrets_and_policy_come_from_spec() -> None:
    deployment = _deployment({"images": {"pullSecrets": ["regcred"], "pullPolicy": "Always"}})
    pod = deployment["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["containers"][0]["imagePullPolicy"] == "Always"


def test_service_targets_api_pods_on_port_80() -> None:
    p = factories.platform()
    service = api.api_service(p)
    assert service["metadata"]["name"] == "demo-api"
    assert service["spec"]["selector"] == naming.selector(p, naming.Component.API)
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert naming.api_url(p) == "http://demo-api.journal-test.svc"


def test_disruption_budget_allows_one_pod_at_a_time() -> None:
    p = factories.platform()
    pdb = api.api_pod_disruption_budget(p)
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == naming.selector(p, naming.Component.API)


def test_autoscaler_only_when_enabled() -> None:
    assert api.api_autoscaler(factories.platform()) is None
    hpa = api.api_autoscaler(
        factories.platform(
            {
                "api": {
                    "autoscaling": {
                        "enabled": True,
                        "minReplicas": 3,
                        "maxReplicas": 9,
                        "targetCPUUtilizationPercentage": 55,
                    }
                }
            }
        )
    )
    assert hpa is not None
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "demo-api",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)
    assert hpa["spec"]["metrics"][0]["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 55},
    }


def test_ingress_only_when_enabled() -> None:
    assert api.api_ingress(factories.platform()) is None


@pytest.mark.parametrize("tls", [True, False])
def test_ingress_routes_host_to_service(tls: bool) -> None:
    ingress_spec: dict[str, Any] = {"enabled": True, "className": "nginx", "host": "j.example.com"}
    if tls:
        ingress_spec["tlsSecretName"] = "j-tls"
    ingress = api.api_ingress(factories.platform({"api": {"ingress": ingress_spec}}))
    assert ingress is not None
    rule = ingress["spec"]["rules"][0]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert rule["host"] == "j.example.com"
    assert rule["http"]["paths"][0]["backend"] == {
        "service": {"name": "demo-api", "port": {"name": "http"}}
    }
    expected_tls = [{"hosts": ["j.example.com"], "secretName": "j-tls"}] if tls else None
    assert ingress["spec"].get("tls") == expected_tls


def _routed(ingress: dict[str, Any], path: str) -> bool:
    """Whether ``path`` reaches a backend, by the Ingress matching rules (Exact: the
    whole path; Prefix: whole `/`-separated elements)."""
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            if entry["pathType"] == "Exact" and path == entry["path"]:
                return True
            if entry["pathType"] == "Prefix":
                prefix = entry["path"].rstrip("/").split("/")
                if path.split("/")[: len(prefix)] == prefix:
                    return True
    return False


PUBLIC = ["/api/v1/entries", "/api/v1/auth/login", "/api/v1/users/me/export"]
INTERNAL = ["/metrics", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/apidocs"]


def test_ingress_routes_the_api_but_not_metrics_docs_or_probes() -> None:
    ingress = api.api_ingress(
        factories.platform({"api": {"ingress": {"enabled": True, "host": "j.example.com"}}})
    )
    assert ingress is not None
    assert [path for path in PUBLIC if not _routed(ingress, path)] == []
    assert [path for path in INTERNAL if _routed(ingress, path)] == []


def test_crisis_resources_configmap_is_mounted_where_the_api_reads_it() -> None:
    deployment = _deployment({"api": {"crisisResources": {"configMapName": "crisis-lines"}}})
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    [volume] = [v for v in pod["volumes"] if v["name"] == "crisis-resources"]
    assert volume["configMap"] == {
        "name": "crisis-lines",
        "items": [{"key": "crisis-resources.json", "path": "crisis-resources.json"}],
    }
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "crisis-resources"]
    # A directory mount (no subPath), so the kubelet can swap an edited file in place.
    assert mount == {
        "name": "crisis-resources",
        "mountPath": "/etc/journal/crisis",
        "readOnly": True,
    }
    env = {e["name"]: e.get("value") for e in container["env"]}
    path = env["JOURNAL_API_CRISIS_RESOURCES_FILE"]
    assert path == f"{mount['mountPath']}/{volume['configMap']['items'][0]['path']}"


def test_crisis_resources_key_is_the_users_and_absent_means_the_shipped_list() -> None:
    custom = _deployment({"api": {"crisisResources": {"configMapName": "lines", "key": "de.json"}}})
    [volume] = [
        v for v in custom["spec"]["template"]["spec"]["volumes"] if v["name"] == "crisis-resources"
    ]
    assert volume["configMap"]["items"] == [{"key": "de.json", "path": "crisis-resources.json"}]
    default = _deployment()
    assert "crisis-resources" not in {
        v["name"] for v in default["spec"]["template"]["spec"]["volumes"]
    }
    assert "JOURNAL_API_CRISIS_RESOURCES_FILE" not in {
        e["name"] for e in _container(default)["env"]
    }
