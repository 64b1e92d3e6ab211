"""The shape of a child object as the builders return it: a plain JSON-like dict.

Kept apart from the builders so that the reconcile and the tests can name the type
without importing any builder.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Manifest = dict[str, Any]


class Ref(NamedTuple):
    """What identifies an object on the API server (plus its kind for messages)."""

    api_version: str
    kind: str
    namespace: str
    name: str


def ref(manifest: Manifest) -> Ref:
    """The identity of `manifest`, for apply calls, logs and duplicate checks."""
    meta = manifest["metadata"]
    return Ref(manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""), meta["name"])
