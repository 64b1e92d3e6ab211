"""Pieces every pod the operator builds shares: hardened security, resources, pull secrets.

Called by the workload builders (api, worker, migrations, postgres, redis, inference) so
that a security setting is decided once. Pure functions of the typed spec.
"""

from __future__ import annotations

from typing import Any

from journal_operator import spec
from journal_operator.builders import config

# The application images run as this user whatever their Dockerfile says, so that
# runAsNonRoot holds even for an image built without a numeric USER.
APP_UID = 10001
# The official postgres and redis images run as uid/gid 999 ("postgres", "redis").
DATA_UID = 999


def container_security() -> dict[str, Any]:
    """Container securityContext: no privilege escalation, no capabilities, read-only root."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security(*, uid: int) -> dict[str, Any]:
    """Pod securityContext for a non-root `uid` that owns its volumes (fsGroup)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_defaults(p: spec.Platform) -> dict[str, Any]:
    """Pod spec fields common to every workload.

    No service-account token (no pod talks to the Kubernetes API) and no service links:
    a Service named `journal-api` would otherwise inject `JOURNAL_API_PORT=tcp://...` into
    every pod, colliding with the API's own setting of that name.
    """
    defaults: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
    }
    if p.spec.images.pull_secrets:
        defaults["imagePullSecrets"] = [{"name": name} for name in p.spec.images.pull_secrets]
    return defaults


def resources(r: spec.Resources) -> dict[str, Any]:
    """A container's `resources` from the spec (unset quantities left out)."""
    result: dict[str, Any] = {}
    for key, quantities in (("requests", r.requests), ("limits", r.limits)):
        if quantities is not None:
            values = quantities.model_dump(exclude_none=True)
            if values:
                result[key] = values
    return result


def tmp_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    """An emptyDir at /tmp (volume, mount): writable scratch under a read-only root."""
    return {"name": "tmp", "emptyDir": {}}, {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108


def app_container(
    p: spec.Platform,
    *,
    name: str,
    image: str,
    args: list[str],
    resources_spec: spec.Resources,
) -> dict[str, Any]:
    """A container running `python -m journal_api <args>` with the API's settings."""
    env_from, env = config.app_env(p)
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": p.spec.images.pull_policy,
        "command": ["python", "-m", "journal_api", *args],
        "envFrom": env_from,
        "env": env,
        "resources": resources(resources_spec),
        "securityContext": container_security(),
        "volumeMounts": [tmp_volume()[1]],
    }


def app_pod_spec(p: spec.Platform, container: dict[str, Any]) -> dict[str, Any]:
    """The pod spec around an `app_container`: app user, /tmp volume, shared defaults."""
    return {
        **pod_defaults(p),
        "securityContext": pod_security(uid=APP_UID),
        "containers": [container],
        "volumes": [tmp_volume()[0]],
    }
