"""The API: Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler, Ingress.

Pure builders called by `plan.desired_children`. The image and version to run are passed
in (the reconcile holds the old version until the migrations of the new one completed),
and so is the config hash that rolls the pods when their settings change.
"""

from __future__ import annotations

from typing import Any

from journal_operator import naming, spec
from journal_operator.builders import config, pods
from journal_operator.manifests import Manifest

COMPONENT = naming.Component.API
SERVICE_PORT = 80
# Endpoints are removed from the Service asynchronously; the preStop pause lets in-flight
# load balancers stop sending before the API begins its graceful shutdown.
PRESTOP_SECONDS = 5
TERMINATION_GRACE_SECONDS = 30
# What the Ingress routes: every resource of the API lives under it (`/api/v1/...`).
# Prefix matching is by path element, so `/api` matches `/api/v1/entries`, not `/apidocs`.
PUBLIC_PATH_PREFIX = "/api"


# Set on the API Deployment once its replicas are handed to the HPA (see `api_deployment`).
REPLICAS_OWNER_ANNOTATION = f"{naming.GROUP}/replicas-owner"


def api_deployment(
    p: spec.Platform,
    *,
    image: str,
    version: str,
    config_hash: str,
    hpa_owns_replicas: bool = False,
) -> Manifest:
    """Deployment `<platform>-api`.

    Args:
        p: The platform.
        image: The API image to run.
        version: The application version `image` holds (the version label).
        config_hash: `config.config_hash(...)`, put on the pod template.
        hpa_owns_replicas: the HPA exists and has acted (its status is written).

    Returns:
        The Deployment; without `spec.replicas` once autoscaling is enabled *and* the HPA
        owns that field (a server-side apply must not take it back). Until then, replicas
        stay set (at least `minReplicas`), so turning autoscaling on never drops the API to
        the default of one replica; the reconcile hands the field over before it stops
        setting it.
    """
    container = pods.app_container(
        p, name="api", image=image, args=["serve"], resources_spec=p.spec.api.resources
    )
    container |= {
        "ports": [{"name": "http", "containerPort": config.API_PORT, "protocol": "TCP"}],
        "startupProbe": _http_probe("/healthz", period=2, failures=30),
        "livenessProbe": _http_probe("/healthz", period=10, failures=3),
        "readinessProbe": _http_probe("/readyz", period=5, failures=2),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}},
    }
    pod_spec = pods.app_pod_spec(p, container) | {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": naming.selector(p, COMPONENT)},
            }
        ],
    }
    _mount_crisis_resources(p.spec.api.crisis_resources, container, pod_spec)
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": naming.selector(p, COMPONENT)},
        "strategy": rolling_update(p),
        "progressDeadlineSeconds": p.spec.rollout.progress_deadline_seconds,
        "revisionHistoryLimit": 5,
        "template": {
            "metadata": {
                "labels": naming.labels(p, COMPONENT, version=version),
                "annotations": {naming.SPEC_HASH_ANNOTATION: config_hash},
            },
            "spec": pod_spec,
        },
    }
    autoscaling = p.spec.api.autoscaling
    annotations: dict[str, str] | None = None
    if not autoscaling.enabled:
        deployment_spec = {"replicas": p.spec.api.replicas, **deployment_spec}
    elif not hpa_owns_replicas:
        replicas = min(max(p.spec.api.replicas, autoscaling.min_replicas), autoscaling.max_replicas)
        deployment_spec = {"replicas": replicas, **deployment_spec}
    else:
        annotations = {REPLICAS_OWNER_ANNOTATION: "hpa"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": naming.child_meta(
            p, COMPONENT, naming.api_name(p), version=version, annotations=annotations
        ),
        "spec": deployment_spec,
    }


CRISIS_RESOURCES_DIR = "/etc/journal/crisis"
CRISIS_RESOURCES_FILE = "crisis-resources.json"


def _mount_crisis_resources(
    source: spec.CrisisResources | None, container: dict[str, Any], pod_spec: dict[str, Any]
) -> None:
    """Mount the user's crisis resources ConfigMap key and point the API at it.

    A directory mount, not `subPath`: the kubelet then swaps an edited ConfigMap's file in
    place and the API reads the new version without a restart.
    """
    if source is None:
        return
    pod_spec["volumes"] = [
        *pod_spec["volumes"],
        {
            "name": "crisis-resources",
            "configMap": {
                "name": source.config_map_name,
                "items": [{"key": source.key, "path": CRISIS_RESOURCES_FILE}],
            },
        },
    ]
    container["volumeMounts"] = [
        *container["volumeMounts"],
        {"name": "crisis-resources", "mountPath": CRISIS_RESOURCES_DIR, "readOnly": True},
    ]
    container["env"] = [
        *container["env"],
        {
            "name": "JOURNAL_API_CRISIS_RESOURCES_FILE",
            "value": f"{CRISIS_RESOURCES_DIR}/{CRISIS_RESOURCES_FILE}",
        },
    ]


def api_service(p: spec.Platform) -> Manifest:
    """Service `<platform>-api`: port 80 to the API's port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": naming.child_meta(p, COMPONENT, naming.api_name(p)),
        "spec": {
            "type": "ClusterIP",
            "selector": naming.selector(p, COMPONENT),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def api_pod_disruption_budget(p: spec.Platform) -> Manifest:
    """PodDisruptionBudget: voluntary evictions (drains) take one API pod at a time.

    `maxUnavailable: 1` rather than a `minAvailable` so a single-replica API never blocks
    a node drain forever; pods that are not ready may always be evicted.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": naming.child_meta(p, COMPONENT, naming.api_name(p)),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": naming.selector(p, COMPONENT)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def api_autoscaler(p: spec.Platform) -> Manifest | None:
    """HorizontalPodAutoscaler (autoscaling/v2) on CPU, or None when autoscaling is off."""
    autoscaling = p.spec.api.autoscaling
    if not autoscaling.enabled:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": naming.child_meta(p, COMPONENT, naming.api_name(p)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": naming.api_name(p),
            },
            "minReplicas": autoscaling.min_replicas,
            "maxReplicas": autoscaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": autoscaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }


def api_ingress(p: spec.Platform) -> Manifest | None:
    """Ingress (networking.k8s.io/v1) to the API Service, or None when not enabled.

    It routes only `PUBLIC_PATH_PREFIX`, the API's resources: `/metrics`, `/docs`,
    `/openapi.json`, `/healthz` and `/readyz` stay reachable inside the cluster (probes,
    Prometheus) but not from the public side of the Ingress.
    """
    ingress = p.spec.api.ingress
    if not ingress.enabled:
        return None
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {
                    "path": PUBLIC_PATH_PREFIX,
                    "pathType": "Prefix",
                    "backend": {"service": {"name": naming.api_name(p), "port": {"name": "http"}}},
                }
            ]
        }
    }
    if ingress.host is not None:
        rule = {"host": ingress.host, **rule}
    ingress_spec: dict[str, Any] = {"rules": [rule]}
    if ingress.class_name is not None:
        ingress_spec["ingressClassName"] = ingress.class_name
    if ingress.tls_secret_name is not None and ingress.host is not None:
        ingress_spec["tls"] = [{"hosts": [ingress.host], "secretName": ingress.tls_secret_name}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": naming.child_meta(p, COMPONENT, naming.api_name(p)),
        "spec": ingress_spec,
    }


def rolling_update(p: spec.Platform) -> dict[str, Any]:
    """The Deployment strategy from `spec.rollout` (shared with the worker)."""
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {
            "maxSurge": p.spec.rollout.max_surge,
            "maxUnavailable": p.spec.rollout.max_unavailable,
        },
    }


def _http_probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }
