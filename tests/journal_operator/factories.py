"""Platforms and secrets for builder tests: one place that knows how to make them."""

from __future__ import annotations

import copy
from typing import Any

from journal_operator import spec
from journal_operator.builders import secrets

from tests.journal_operator import openapi

NAMESPACE = "journal-test"
UID = "6d70cf09-110b-4a0d-8924-19232c9cc142"
SECRETS = secrets.GeneratedSecrets(
    database_password="s3cret/p@ss word",  # characters a URI must escape
    jwt_key="k" * 48,
    jwt_kid="k1",
    cache_password="r3dis:p@ss/word",  # characters a URL must escape
    database_superuser_password="sup3r/user",
    audit_key="a" * 64,
)


def body(spec_fields: dict[str, Any] | None = None, *, name: str = "demo") -> dict[str, Any]:
    """A JournalPlatform body with `spec_fields` on top of `version: 1.0.0`."""
    return {
        "apiVersion": "journalplatform.io/v1alpha1",
        "kind": "JournalPlatform",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": UID, "generation": 3},
        "spec": {"version": "1.0.0", **(spec_fields or {})},
    }


def platform(spec_fields: dict[str, Any] | None = None, *, name: str = "demo") -> spec.Platform:
    """A parsed platform; see `body`."""
    return spec.parse(body(spec_fields, name=name))


def example(name: str) -> dict[str, Any]:
    """One of crds/examples/, with the namespace and uid the API server would add."""
    result: dict[str, Any] = copy.deepcopy(openapi.load_yaml(openapi.EXAMPLES / f"{name}.yaml"))
    result["metadata"] |= {"namespace": NAMESPACE, "uid": UID, "generation": 1}
    return result
