"""OpenAPI schemas of the CRDs, for offline checks of what we build.

Loads our CRD, KServe's real InferenceService CRD and CloudNativePG's Cluster and
ScheduledBackup CRDs, applies structural defaults the way
the API server does, and makes a schema strict (unknown fields rejected, as the API
server's strict field validation does) so that jsonschema can stand in for the server in
tests without a cluster. Used by tests/journal_operator and tests/crds.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols
import referencing
import yaml
from kubernetes_validate import utils as kv_utils

REPO = Path(__file__).resolve().parents[2]
CRD_PATH = REPO / "crds" / "journalplatforms.journalplatform.io.yaml"
EXAMPLES = REPO / "crds" / "examples"
INVALID = REPO / "tests" / "crds" / "invalid"
KSERVE_CRD_PATH = (
    REPO.parent / "shared" / "crds" / "kserve" / "full-serving.kserve.io_inferenceservices.yaml"
)

# CloudNativePG's real CRDs, unmodified (their README says where from); only in ../shared.
CNPG_CRD_DIR = REPO.parent / "shared" / "crds" / "cnpg"
CNPG_CRD_FILES = {
    "Cluster": "postgresql.cnpg.io_clusters.yaml",
    "ScheduledBackup": "postgresql.cnpg.io_scheduledbackups.yaml",
}

Schema = dict[str, Any]


def load_yaml(path: Path) -> Any:
    """The single YAML document in `path`."""
    # The C loader when built: KServe's 2 MB CRD takes seconds with the pure-Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader


def crd() -> dict[str, Any]:
    """Our CustomResourceDefinition."""
    result: dict[str, Any] = load_yaml(CRD_PATH)
    return result


def version_schema(definition: dict[str, Any], version: str) -> Schema:
    """`openAPIV3Schema` of one served version of a CRD."""
    for entry in definition["spec"]["versions"]:
        if entry["name"] == version:
            schema: Schema = entry["schema"]["openAPIV3Schema"]
            return schema
    raise LookupError(f"{definition['metadata']['name']} has no version {version}")


def platform_schema() -> Schema:
    """Our v1alpha1 schema."""
    return version_schema(crd(), "v1alpha1")


def kserve_schema() -> Schema:
    """KServe's v1beta1 InferenceService schema (the caller skips when it is absent)."""
    return version_schema(load_yaml(KSERVE_CRD_PATH), "v1beta1")


@functools.cache
def kserve_validator() -> jsonschema.protocols.Validator:
    """A strict validator for InferenceServices, built once per session."""
    return jsonschema.Draft202012Validator(strict(kserve_schema()))


@functools.cache
def cnpg_validator(kind: str) -> jsonschema.protocols.Validator:
    """A strict validator for one CloudNativePG kind (the caller skips when it is absent)."""
    definition = load_yaml(CNPG_CRD_DIR / CNPG_CRD_FILES[kind])
    return jsonschema.Draft202012Validator(strict(version_schema(definition, "v1")))


def apply_defaults(value: Any, schema: Schema) -> Any:
    """`value` with the schema's `default`s filled in, recursively, as the API server does.

    A missing property with a default gets a copy of it, and defaulting then continues
    inside every present property and array item (so defaults nested in a default apply).
    """
    if isinstance(value, dict):
        result = dict(value)
        for name, prop in schema.get("properties", {}).items():
            if name not in result and "default" in prop:
                result[name] = copy.deepcopy(prop["default"])
            if name in result:
                result[name] = apply_defaults(result[name], prop)
        return result
    if isinstance(value, list) and "items" in schema:
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def strict(schema: Schema) -> Schema:
    """A copy of `schema` that rejects unknown properties wherever the CRD would prune them.

    Objects with `properties` and neither `additionalProperties` nor
    `x-kubernetes-preserve-unknown-fields` get `additionalProperties: false`.
    """
    result = {key: copy.deepcopy(value) for key, value in schema.items() if key != "properties"}
    if "properties" in schema:
        result["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            result["additionalProperties"] = False
    if isinstance(schema.get("items"), dict):
        result["items"] = strict(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        result["additionalProperties"] = strict(schema["additionalProperties"])
    return result


def walk(schema: Schema, path: str = "") -> list[tuple[str, Schema]]:
    """Every (path, schema) of the properties below `schema`, depth first."""
    found: list[tuple[str, Schema]] = []
    for name, prop in schema.get("properties", {}).items():
        here = f"{path}.{name}" if path else name
        found.append((here, prop))
        found += walk(prop, here)
    if isinstance(schema.get("items"), dict):
        found += walk(schema["items"], f"{path}[]")
    return found


KUBERNETES_VERSION = "1.35.0"  # the local control plane's minor (hack/cluster/versions.env)


def validate_kubernetes(manifest: dict[str, Any]) -> None:
    """Validate a core Kubernetes object against the strict schemas kubernetes-validate ships.

    Same check as `kubernetes_validate.validate(..., strict=True)`, with the validator of
    each kind built once: the library reloads its definitions on every call.

    Raises:
        jsonschema.ValidationError: With the offending path and reason.
    """
    _kubernetes_validator(manifest["apiVersion"], manifest["kind"]).validate(manifest)


@functools.cache
def _kubernetes_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    folder = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    # rbac.authorization.k8s.io/v1 -> rbac-v1, as the library names its files.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = kv_utils.schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", "")
    definitions = kv_utils.schema_contents(f"{folder}/_definitions.json", "")
    registry: referencing.Registry[Any] = referencing.Resource.from_contents(definitions) @ (
        referencing.Resource.from_contents(schema) @ referencing.Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)
