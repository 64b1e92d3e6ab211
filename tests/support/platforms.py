"""JournalPlatform factories and waits shared by the operator tests and the benchmark.

Specs are lean by default (one API pod, one worker, no models, plain Deployments for
inference) so that dozens of platforms fit on a 2-core machine; tests widen what they test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support.cluster import LocalCluster, condition_is

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "crds" / "examples"
API_VERSION = "journalplatform.io/v1alpha1"
KIND = "JournalPlatform"
READY_TIMEOUT = 240.0

LEAN_SPEC: dict[str, Any] = {
    "version": "1.0.0",
    "api": {"replicas": 1},
    "worker": {"replicas": 1},
    "inference": {"mode": "deployment", "models": []},
}


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base`` (dicts merge, everything else wins)."""
    result = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def platform(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """A lean JournalPlatform manifest; keyword arguments deep-merge into the spec."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": merge(LEAN_SPEC, spec),
    }


def example(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """``crds/examples/<name>.yaml`` placed in ``namespace``, with spec overrides merged in."""
    body: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    body["metadata"]["namespace"] = namespace
    body["spec"] = merge(body.get("spec") or {}, spec)
    return body


def is_ready(obj: Mapping[str, Any]) -> bool:
    """Ready=True for the object's current generation."""
    status = obj.get("status") or {}
    return bool(
        condition_is(obj, "Ready")
        and status.get("observedGeneration") == obj["metadata"].get("generation")
    )


def wait_ready(
    cluster: LocalCluster, namespace: str, name: str, *, timeout: float = READY_TIMEOUT
) -> dict[str, Any]:
    """Poll until the platform is Ready for its current generation; return it."""
    found: dict[str, Any] = cluster.wait_for(
        "journalplatform",
        name,
        is_ready,
        namespace=namespace,
        timeout=timeout,
        description=f"JournalPlatform {namespace}/{name} Ready",
    )
    return found


def patch_spec(cluster: LocalCluster, namespace: str, name: str, spec: Mapping[str, Any]) -> None:
    """Merge-patch ``spec`` into the platform, as ``kubectl patch --type merge`` does."""
    cluster.kubectl(
        "patch",
        "journalplatform",
        name,
        "-n",
        namespace,
        "--type",
        "merge",
        "-p",
        json.dumps({"spec": spec}),
    )
