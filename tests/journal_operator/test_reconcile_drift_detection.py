"""When a pass re-applies a child: missing, applied from another manifest, or edited by hand.

Aspects under test (pure, no cluster):
- fields other controllers add (status, defaults, extra env from another manager) are not drift;
- a value we set that someone changed is drift, including inside named lists;
- a manifest we changed since the last apply (a different hash) is re-applied, even when
  the stored object still contains everything (fields we stopped setting must be pruned).
"""

from __future__ import annotations

import copy
from typing import Any

from journal_operator import observe

HASH_KEY = "journalplatform.io/applied-hash"
DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "demo-api", "namespace": "ns", "labels": {"a": "b"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": "api:1.0.0",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "resources": {"requests": {"cpu": "1"}},
                    }
                ]
            }
        },
    },
}


def _stored(applied_hash: str = "h1") -> dict[str, Any]:
    stored = copy.deepcopy(DESIRED)
    stored["metadata"]["annotations"] = {HASH_KEY: applied_hash}
    stored["metadata"]["uid"] = "u"
    stored["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    stored["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = 1
    stored["status"] = {"availableReplicas": 2}
    return stored


def _drifted(actual: dict[str, Any] | None, applied_hash: str = "h1") -> bool:
    return observe.drifted(DESIRED, actual, applied_hash=applied_hash, hash_annotation=HASH_KEY)


def test_missing_child_is_drift() -> None:
    assert _drifted(None)


def test_defaults_status_and_normalised_quantities_are_not_drift() -> None:
    assert not _drifted(_stored())


def test_env_added_by_another_manager_is_not_drift() -> None:
    stored = _stored()
    stored["spec"]["template"]["spec"]["containers"][0]["env"].insert(
        0, {"name": "INJECTED", "value": "x"}
    )
    assert not _drifted(stored)


def test_edited_replicas_are_drift() -> None:
    stored = _stored()
    stored["spec"]["replicas"] = 5
    assert _drifted(stored)


def test_edited_env_value_is_drift() -> None:
    stored = _stored()
    stored["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = "changed"
    assert _drifted(stored)


def test_manifest_changed_since_last_apply_is_drift() -> None:
    assert _drifted(_stored(applied_hash="h0"), applied_hash="h1")


def test_quantities_in_another_canonical_form_are_not_drift() -> None:
    desired = {"resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": {}}}
    stored = {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
    assert observe.is_subset(desired, stored)
    assert observe.is_subset({"cpu": "1000m", "storage": "1e3"}, {"cpu": "1", "storage": "1k"})
    assert not observe.is_subset({"cpu": "0.5"}, {"cpu": "600m"})
    assert not observe.is_subset({"image": "api:1.0"}, {"image": "api:1.00"})


def test_empty_fields_the_api_server_drops_are_not_drift() -> None:
    desired = {"metadata": {"annotations": {}, "labels": {"a": "b"}}, "spec": {"args": []}}
    assert observe.is_subset(desired, {"metadata": {"labels": {"a": "b"}}, "spec": {}})
    assert not observe.is_subset({"spec": {"args": ["x"]}}, {"spec": {}})
