"""The CRD as a document, checked without a cluster.

- every field has a description (so `kubectl explain` teaches);
- names, printer columns, status and scale subresources are what users type against;
- the examples validate against the schema, strictly (no field the server would prune);
- the CRD's reserved-env rule and spec.RESERVED_ENV list the same names;
- model tasks: the enum and defaults (one `analyzer` server for task `all`) match spec.py;
- the status schema holds what the reconcile writes (conditions shape, kopf preserved).
"""

from __future__ import annotations

import re
import typing

import jsonschema
import pytest
from journal_operator import naming, spec

from tests.journal_operator import factories, openapi

CRD = openapi.crd()
VERSION = CRD["spec"]["versions"][0]
SCHEMA = openapi.platform_schema()


def test_crd_names_match_naming_constants() -> None:
    names = CRD["spec"]["names"]
    assert CRD["metadata"]["name"] == f"{naming.PLURAL}.{naming.GROUP}"
    assert CRD["spec"]["group"] == naming.GROUP
    assert (names["kind"], names["plural"], names["singular"]) == (
        naming.KIND,
        naming.PLURAL,
        "journalplatform",
    )
    assert names["shortNames"] == ["jp"]
    assert names["categories"] == ["all", "journal"]
    assert CRD["spec"]["scope"] == "Namespaced"
    assert (VERSION["name"], VERSION["served"], VERSION["storage"]) == (naming.VERSION, True, True)


def test_every_field_has_a_description() -> None:
    missing = [path for path, prop in openapi.walk(SCHEMA) if not prop.get("description")]
    assert missing == ["metadata"]  # metadata is described by Kubernetes itself


def test_printer_columns_show_ready_phase_version_replicas_age() -> None:
    columns = {c["name"]: c for c in VERSION["additionalPrinterColumns"]}
    assert [c["name"] for c in VERSION["additionalPrinterColumns"] if "priority" not in c] == [
        "Ready",
        "Phase",
        "Version",
        "API",
        "Age",
    ]
    assert columns["Ready"]["jsonPath"] == ".status.conditions[?(@.type=='Ready')].status"
    assert columns["Reason"]["priority"] == 1
    assert columns["Reason"]["jsonPath"] == ".status.conditions[?(@.type=='Ready')].reason"
    assert columns["Desired"] == columns["Desired"] | {"priority": 1, "jsonPath": ".spec.version"}


def test_scale_subresource_maps_api_replicas() -> None:
    scale = VERSION["subresources"]["scale"]
    assert VERSION["subresources"]["status"] == {}
    assert scale["specReplicasPath"] == ".spec.api.replicas"
    assert scale["statusReplicasPath"] == ".status.components.api.replicas"
    assert scale["labelSelectorPath"] == ".status.selector"


@pytest.mark.parametrize("name", ["minimal", "full", "cnpg"])
def test_example_validates_against_schema(name: str) -> None:
    body = openapi.apply_defaults(factories.example(name), SCHEMA)
    jsonschema.validate(body, openapi.strict(SCHEMA))


def test_unknown_spec_field_fails_strict_validation() -> None:
    body = factories.example("minimal")
    body["spec"]["replica"] = 3
    with pytest.raises(jsonschema.ValidationError, match="replica"):
        jsonschema.validate(body, openapi.strict(SCHEMA))


def test_reserved_env_rule_lists_spec_reserved_names() -> None:
    env_item = SCHEMA["properties"]["spec"]["properties"]["api"]["properties"]["env"]["items"]
    rule = env_item["x-kubernetes-validations"][0]["rule"]
    assert set(re.findall(r"'(JOURNAL_API_[A-Z_]+)'", rule)) == spec.RESERVED_ENV


MODELS_SCHEMA = SCHEMA["properties"]["spec"]["properties"]["inference"]["properties"]["models"]


def test_model_task_enum_and_default_match_spec() -> None:
    task = MODELS_SCHEMA["items"]["properties"]["task"]
    assert (
        task["enum"]
        == list(typing.get_args(spec.Task))
        == [
            "all",
            "emotion",
            "sentiment",
            "embedding",
        ]
    )
    assert task["default"] == spec.Model.model_fields["task"].default == "all"
    assert "task" not in MODELS_SCHEMA["items"]["required"]


def test_default_models_are_one_analyzer_server_for_every_task() -> None:
    body = openapi.apply_defaults(factories.example("minimal"), SCHEMA)
    assert body["spec"]["inference"]["models"] == [
        {
            "name": "analyzer",
            "task": "all",
            "minReplicas": 1,
            "maxReplicas": 3,
            "scaleMetric": "cpu",
            "scaleTarget": 70,
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"memory": "2Gi"},
            },
        }
    ]


def test_model_without_task_gets_task_all() -> None:
    body = factories.example("minimal")
    body["spec"]["inference"] = {"models": [{"name": "nlp"}]}
    defaulted = openapi.apply_defaults(body, SCHEMA)
    assert defaulted["spec"]["inference"]["models"][0]["task"] == "all"
    jsonschema.validate(defaulted, openapi.strict(SCHEMA))


def test_unknown_model_task_fails_schema_validation() -> None:
    body = factories.example("minimal")
    body["spec"]["inference"] = {"models": [{"name": "x", "task": "bogus"}]}
    with pytest.raises(jsonschema.ValidationError, match="'bogus' is not one of"):
        jsonschema.validate(openapi.apply_defaults(body, SCHEMA), openapi.strict(SCHEMA))


def test_status_declares_conditions_as_map_by_type_and_keeps_kopf() -> None:
    status = SCHEMA["properties"]["status"]["properties"]
    conditions = status["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["properties"]) == {
        "type",
        "status",
        "observedGeneration",
        "lastTransitionTime",
        "reason",
        "message",
    }
    assert status["kopf"]["x-kubernetes-preserve-unknown-fields"] is True
    assert status["phase"]["enum"] == [
        "Pending",
        "Provisioning",
        "Migrating",
        "Ready",
        "Degraded",
        "Paused",
        "Deleting",
        "Failed",
    ]
    assert set(status["version"]["properties"]) == {
        "running",
        "desired",
        "migrated",
        "migratedImage",
        "images",
    }


def test_a_written_status_validates() -> None:
    body = openapi.apply_defaults(factories.example("minimal"), SCHEMA)
    body["status"] = {
        "observedGeneration": 1,
        "phase": "Ready",
        "phaseReason": "All components are ready",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "ComponentsReady",
                "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": 1,
            }
        ],
        "version": {
            "running": "1.0.0",
            "desired": "1.0.0",
            "migrated": "1.0.0",
            "migratedImage": "ghcr.io/journal-platform/journal-api:1.0.0",
            "images": {
                "api": "ghcr.io/journal-platform/journal-api:1.0.0",
                "worker": "ghcr.io/journal-platform/journal-api:1.0.0",
            },
        },
        "url": "http://demo-api.ns.svc",
        "selector": "app.kubernetes.io/component=api",
        "inferenceMode": "deployment",
        "components": {
            "api": {"ready": True, "replicas": 2, "readyReplicas": 2, "summary": "2/2"},
            "migrations": {"version": "1.0.0", "job": "demo-migrate-1-0-0", "state": "Succeeded"},
            "models": [{"name": "emotion", "ready": True, "url": "http://x"}],
        },
        "kopf": {"progress": {"anything": 1}},
    }
    jsonschema.validate(body, openapi.strict(SCHEMA))


def test_list_keys_are_required() -> None:
    """A list-type map's keys must be required, or the API server refuses the CRD."""
    for path, prop in openapi.walk(SCHEMA):
        for key in prop.get("x-kubernetes-list-map-keys", []):
            assert key in prop["items"].get("required", []), f"{path}: key {key} not required"
