"""The migrations Job, the worker and the model servers.

- the Job: one per version, `journal_api migrate`, deadline from the spec, bounded retries,
  the version on its labels, the API's settings;
- the worker: `journal_api worker`, replicas from the spec, rolled like the API;
- model servers: KServe InferenceServices (explicit deployment mode, kserve-container,
  V2 readiness, KServe's autoscaling fields) or Deployment + Service + HPA with the same
  Service name and container;
- the model server container: `python -m journal_inference serve` with KServe's port and
  model-name arguments, the task and bind address in the environment, HTTP 8080 and gRPC
  8081, readiness on the server's /v2/health/ready; one server per listed model; the
  arguments and environment are ones `journal_inference serve` reads, to the same values.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from journal_operator import naming, spec
from journal_operator.builders import config, inference, migrations, worker

from tests.journal_operator import factories

IMAGE = "ghcr.io/journal-platform/journal-api:2.0.0"
MODEL_IMAGE = "ghcr.io/journal-platform/journal-inference:2.0.0"
PER_TASK_MODELS: dict[str, Any] = {
    "inference": {
        "models": [
            {"name": "analyzer", "task": "all"},
            {"name": "emotion", "task": "emotion"},
            {"name": "sentiment", "task": "sentiment", "maxReplicas": 5},
            {"name": "embedding", "task": "embedding"},
        ]
    }
}


def _job(fields: dict[str, Any] | None = None, version: str = "2.0.0") -> dict[str, Any]:
    return migrations.migrations_job(factories.platform(fields), image=IMAGE, version=version)


def _model(p: spec.Platform, name: str) -> spec.Model:
    return next(m for m in p.spec.inference.models if m.name == name)


def _container(p: spec.Platform, name: str = "analyzer") -> dict[str, Any]:
    return inference.model_container(p, _model(p, name), image=MODEL_IMAGE)


def test_job_runs_migrations_once_per_version() -> None:
    job = _job()
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert job["metadata"]["name"] == "demo-migrate-2-0-0"
    assert _job(version="2.0.1")["metadata"]["name"] != job["metadata"]["name"]
    assert container["command"] == ["python", "-m", "journal_api", "migrate"]
    assert container["image"] == IMAGE
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_job_deadline_and_retries_are_bounded() -> None:
    job = _job({"rollout": {"migrationTimeoutSeconds": 120}})
    assert job["spec"]["activeDeadlineSeconds"] == 120
    assert 0 < job["spec"]["backoffLimit"] <= 5
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


def test_job_carries_its_version() -> None:
    job = _job()
    assert job["metadata"]["labels"][naming.LABEL_VERSION] == "2.0.0"
    assert job["metadata"]["annotations"][naming.VERSION_ANNOTATION] == "2.0.0"
    assert job["spec"]["template"]["metadata"]["labels"][naming.LABEL_VERSION] == "2.0.0"
    assert job["spec"]["template"]["metadata"]["labels"][naming.LABEL_COMPONENT] == "migrations"


def test_job_has_the_api_settings() -> None:
    container = _job()["spec"]["template"]["spec"]["containers"][0]
    env_from, env = config.app_env(factories.platform())
    assert (container["envFrom"], container["env"]) == (env_from, env)


def test_worker_runs_worker_command_with_spec_replicas() -> None:
    deployment = worker.worker_deployment(
        factories.platform({"worker": {"replicas": 3}}),
        image=IMAGE,
        version="2.0.0",
        config_hash="h",
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "journal_api", "worker"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {
        naming.SPEC_HASH_ANNOTATION: "h"
    }


def test_worker_liveness_probe_targets_the_port_the_worker_serves_health_on() -> None:
    from journal_api.settings import Settings

    deployment = worker.worker_deployment(
        factories.platform(), image=IMAGE, version="2.0.0", config_hash="h"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    probe = container["livenessProbe"]["httpGet"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert probe["path"] == "/healthz"
    assert ports[probe["port"]] == Settings.model_fields["worker_health_port"].default


def test_inference_service_sets_deployment_mode_and_autoscaler_explicitly() -> None:
    p = factories.platform()
    isvc = inference.inference_service(p, _model(p, "analyzer"), image=MODEL_IMAGE, version="2.0.0")
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    assert isvc["metadata"]["name"] == "demo-analyzer"
    assert isvc["metadata"]["annotations"] == {
        "serving.kserve.io/deploymentMode": "RawDeployment",
        "serving.kserve.io/autoscalerClass": "hpa",
    }


def test_inference_service_uses_kserve_scaling_fields() -> None:
    p = factories.platform(
        {
            "inference": {
                "models": [
                    {
                        "name": "embedding",
                        "task": "all",
                        "minReplicas": 2,
                        "maxReplicas": 5,
                        "scaleMetric": "memory",
                        "scaleTarget": 80,
                    }
                ]
            }
        }
    )
    predictor = inference.inference_service(
        p, _model(p, "embedding"), image=MODEL_IMAGE, version="2.0.0"
    )["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 5)
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("memory", 80)


def test_model_container_is_kserve_container_ready_when_model_loaded() -> None:
    p = factories.platform()
    predictor = inference.inference_service(
        p, _model(p, "analyzer"), image=MODEL_IMAGE, version="2.0.0"
    )["spec"]["predictor"]
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == MODEL_IMAGE
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_model_container_runs_the_inference_server() -> None:
    container = _container(factories.platform())
    assert container["command"] == ["python", "-m", "journal_inference", "serve"]
    assert container["args"] == [
        "--model_name=analyzer",
        "--http_port=8080",
        "--grpc_port=8081",
    ]
    assert container["env"] == [
        {"name": "JOURNAL_INFERENCE_TASK", "value": "all"},
        {"name": "JOURNAL_INFERENCE_HOST", "value": "0.0.0.0"},  # noqa: S104 - the pod IP
    ]


def test_model_container_exposes_http_and_grpc() -> None:
    ports = _container(factories.platform())["ports"]
    # HTTP first: KServe turns the first container port into the Service's port 80.
    assert ports == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 8081, "protocol": "TCP"},
    ]


def test_model_container_is_ready_when_the_server_is_warm() -> None:
    container = _container(factories.platform())
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    startup = container["startupProbe"]
    assert startup["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    # Loading and warming the artifact on a cold node: minutes, not the default 30 s.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


@pytest.mark.parametrize("task", ["all", "emotion", "sentiment", "embedding"])
def test_model_container_settings_are_ones_the_server_reads(
    task: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from journal_inference import serving

    models = [{"name": "nlp", "task": task}]
    if task != "all":
        models.append({"name": "analyzer", "task": "all"})
    p = factories.platform({"inference": {"models": models}})
    container = _container(p, "nlp")
    for name in [n for n in os.environ if n.startswith("JOURNAL_INFERENCE_")]:
        monkeypatch.delenv(name)
    for env in container["env"]:
        monkeypatch.setenv(env["name"], env["value"])
    settings = serving.parse_settings(container["args"])
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert (settings.http_port, settings.grpc_port) == (ports["http"], ports["grpc"])
    assert settings.enable_grpc is True
    assert settings.task == task
    assert settings.host == "0.0.0.0"  # noqa: S104 - must listen on the pod IP


def test_per_task_servers_each_serve_their_task() -> None:
    p = factories.platform(PER_TASK_MODELS)
    for task in ("emotion", "sentiment", "embedding"):
        container = _container(p, task)
        assert f"--model_name={task}" in container["args"]
        assert {"name": "JOURNAL_INFERENCE_TASK", "value": task} in container["env"]
    predictor = inference.inference_service(
        p, _model(p, "sentiment"), image=MODEL_IMAGE, version="2.0.0"
    )["spec"]["predictor"]
    assert predictor["maxReplicas"] == 5


def test_model_pods_carry_labels_the_network_policy_selects() -> None:
    p = factories.platform()
    predictor = inference.inference_service(
        p, _model(p, "analyzer"), image=MODEL_IMAGE, version="2.0.0"
    )["spec"]["predictor"]
    assert predictor["labels"][naming.LABEL_COMPONENT] == "model"
    assert predictor["labels"][naming.LABEL_INSTANCE] == "demo"


def test_deployment_mode_serves_the_same_container_behind_the_same_service_name() -> None:
    p = factories.platform()
    model = _model(p, "analyzer")
    isvc = inference.inference_service(p, model, image=MODEL_IMAGE, version="2.0.0")
    deployment = inference.model_deployment(p, model, image=MODEL_IMAGE, version="2.0.0")
    service = inference.model_service(p, model)
    assert (
        deployment["spec"]["template"]["spec"]["containers"]
        == isvc["spec"]["predictor"]["containers"]
    )
    # KServe names the Service of InferenceService X "X-predictor", port 80.
    assert service["metadata"]["name"] == f"{isvc['metadata']['name']}-predictor"
    assert service["spec"]["ports"][0]["port"] == 80
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert naming.model_url(p, "analyzer") == "http://demo-analyzer-predictor.journal-test.svc"


def test_deployment_mode_service_has_kserves_ports() -> None:
    """HTTP on 80 and gRPC under its own number, as KServe's RawDeployment Service."""
    p = factories.platform()
    service = inference.model_service(p, _model(p, "analyzer"))
    container_ports = {port["name"] for port in _container(p)["ports"]}
    ports = {port["name"]: port for port in service["spec"]["ports"]}
    assert (ports["http"]["port"], ports["http"]["targetPort"]) == (80, "http")
    assert (ports["grpc"]["port"], ports["grpc"]["targetPort"]) == (8081, "grpc")
    assert {port["targetPort"] for port in ports.values()} <= container_ports


def test_deployment_mode_scales_with_an_hpa_like_kserve() -> None:
    p = factories.platform()
    model = _model(p, "analyzer")
    deployment = inference.model_deployment(p, model, image=MODEL_IMAGE, version="2.0.0")
    hpa = inference.model_autoscaler(p, model)
    assert "replicas" not in deployment["spec"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert hpa["spec"]["metrics"][0]["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
