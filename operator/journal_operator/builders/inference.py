"""Model servers, one per `spec.inference.models[]` entry, in either inference mode.

- `kserve`: a KServe `InferenceService` (serving.kserve.io/v1beta1) with a custom
  predictor container. The deployment mode is set explicitly (the cluster default comes
  from a KServe ConfigMap and differs between installs), and KServe's own HPA fields
  (`minReplicas`, `maxReplicas`, `scaleMetric`, `scaleTarget`) size it.
- `deployment`: the same container as a plain Deployment + Service + HPA, named so that
  the Service (`<platform>-<model>-predictor`, port 80 for HTTP, 8081 for gRPC) is the one
  KServe would create. The URL therefore does not depend on the mode.

Pure builders called by `plan.desired_children`.
"""

from __future__ import annotations

from typing import Any

from journal_operator import naming, spec
from journal_operator.builders import api, pods
from journal_operator.manifests import Manifest

COMPONENT = naming.Component.MODEL
# KServe's default ports: V2 REST (and the health endpoints) on 8080, V2 gRPC on 8081.
MODEL_PORT = 8080
GRPC_PORT = 8081
# KServe gives the Service the first container port as port 80 and every other port under
# its own number; the deployment mode does the same.
SERVICE_PORT = 80
# The image's program; `serve` starts the KServe model server.
COMMAND = ("python", "-m", "journal_inference", "serve")
KSERVE_API_VERSION = "serving.kserve.io/v1beta1"
# `RawDeployment` is understood by every KServe release; since v0.16 it is an alias of
# `Standard`. Plain Deployment + Service + HPA: no Knative or Istio needed.
DEPLOYMENT_MODE = "RawDeployment"
# The container name KServe treats as the model server.
KSERVE_CONTAINER = "kserve-container"


def inference_service(p: spec.Platform, model: spec.Model, *, image: str, version: str) -> Manifest:
    """InferenceService `<platform>-<model>` with a custom predictor container."""
    predictor: dict[str, Any] = {
        "minReplicas": model.min_replicas,
        "maxReplicas": model.max_replicas,
        "scaleMetric": model.scale_metric,
        "scaleTarget": model.scale_target,
        # Pod labels: the NetworkPolicy selects model servers by them.
        "labels": naming.labels(p, COMPONENT, version=version, model=model.name),
        **pods.pod_defaults(p),
        "securityContext": pods.pod_security(uid=pods.APP_UID),
        "containers": [model_container(p, model, image=image)],
        "volumes": [pods.tmp_volume()[0]],
    }
    return {
        "apiVersion": KSERVE_API_VERSION,
        "kind": "InferenceService",
        "metadata": naming.child_meta(
            p,
            COMPONENT,
            naming.model_name(p, model.name),
            version=version,
            model=model.name,
            annotations={
                "serving.kserve.io/deploymentMode": DEPLOYMENT_MODE,
                "serving.kserve.io/autoscalerClass": "hpa",
            },
        ),
        "spec": {"predictor": predictor},
    }


def model_deployment(p: spec.Platform, model: spec.Model, *, image: str, version: str) -> Manifest:
    """Deployment `<platform>-<model>-predictor`: the server without KServe.

    No `spec.replicas`: the model's HPA (`model_autoscaler`) owns the count.
    """
    select = naming.selector(p, COMPONENT, model=model.name)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": naming.child_meta(
            p,
            COMPONENT,
            naming.model_service_name(p, model.name),
            version=version,
            model=model.name,
        ),
        "spec": {
            "selector": {"matchLabels": select},
            "strategy": api.rolling_update(p),
            "progressDeadlineSeconds": p.spec.rollout.progress_deadline_seconds,
            "revisionHistoryLimit": 5,
            "template": {
                "metadata": {
                    "labels": naming.labels(p, COMPONENT, version=version, model=model.name)
                },
                "spec": {
                    **pods.pod_defaults(p),
                    "securityContext": pods.pod_security(uid=pods.APP_UID),
                    "containers": [model_container(p, model, image=image)],
                    "volumes": [pods.tmp_volume()[0]],
                },
            },
        },
    }


def model_service(p: spec.Platform, model: spec.Model) -> Manifest:
    """Service `<platform>-<model>-predictor`: port 80 to HTTP, 8081 to gRPC (as KServe's)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": naming.child_meta(
            p, COMPONENT, naming.model_service_name(p, model.name), model=model.name
        ),
        "spec": {
            "selector": naming.selector(p, COMPONENT, model=model.name),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"},
                {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc", "protocol": "TCP"},
            ],
        },
    }


def model_autoscaler(p: spec.Platform, model: spec.Model) -> Manifest:
    """HorizontalPodAutoscaler for a model Deployment, from the same fields KServe reads."""
    name = naming.model_service_name(p, model.name)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": naming.child_meta(p, COMPONENT, name, model=model.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": model.min_replicas,
            "maxReplicas": model.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": model.scale_metric,
                        "target": {"type": "Utilization", "averageUtilization": model.scale_target},
                    },
                }
            ],
        },
    }


def model_container(p: spec.Platform, model: spec.Model, *, image: str) -> dict[str, Any]:
    """The model server container, identical in both modes.

    KServe's standard arguments name the model and the ports; the task (`all` or one of
    them) travels in `JOURNAL_INFERENCE_TASK`. A server for task `all` answers to the
    model names emotion, sentiment, embedding and analyzer, a single-task server to the
    task's name; `--model_name` names the server itself.

    Readiness is the server's V2 `/v2/health/ready`: the image reports ready only once
    the artifact is loaded and a warm-up inference ran, so a pod takes traffic warm.
    """
    return {
        "name": KSERVE_CONTAINER,
        "image": image,
        "imagePullPolicy": p.spec.images.pull_policy,
        "command": list(COMMAND),
        "args": [
            f"--model_name={model.name}",
            f"--http_port={MODEL_PORT}",
            f"--grpc_port={GRPC_PORT}",
        ],
        "env": [
            {"name": "JOURNAL_INFERENCE_TASK", "value": model.task},
            # Inside a pod the server must listen on every interface for the Service.
            {"name": "JOURNAL_INFERENCE_HOST", "value": "0.0.0.0"},  # noqa: S104
        ],
        "ports": [
            # HTTP first: KServe maps the first port to the Service's port 80.
            {"name": "http", "containerPort": MODEL_PORT, "protocol": "TCP"},
            {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
        ],
        "resources": pods.resources(model.resources),
        # Loading the artifact can take a while on a cold node: up to five minutes.
        "startupProbe": _probe("/v2/health/live", period=5, failures=60),
        "livenessProbe": _probe("/v2/health/live", period=10, failures=3),
        "readinessProbe": _probe("/v2/health/ready", period=5, failures=2),
        "securityContext": pods.container_security(),
        "volumeMounts": [pods.tmp_volume()[1]],
    }


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": MODEL_PORT},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }
