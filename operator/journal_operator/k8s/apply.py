"""Thin, typed calls to the API server: server-side apply, create, get, list, patch, delete.

Called by ``reconcile.py`` and ``handlers.py``. No business logic lives here: these functions
translate between plain manifest dicts and HTTP, map 404/409 to ``None``/``False`` where the
caller's intent makes that natural, and raise ``ApiError`` otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping
from typing import Any, cast

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from journal_operator.k8s import client as k8s_client

Manifest = dict[str, Any]

# Server-side apply field owner for everything the operator writes. A fixed name means a
# restarted operator (or a second replica after failover) owns the same fields.
FIELD_MANAGER = "journal-operator"

# kind -> plural for every kind the operator reads or writes. A table, not discovery:
# the set is small and fixed, and discovery would cost a round-trip per start.
PLURALS: dict[str, str] = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "Pod": "pods",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "Job": "jobs",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "NetworkPolicy": "networkpolicies",
    "Ingress": "ingresses",
    "InferenceService": "inferenceservices",
    "Cluster": "clusters",  # postgresql.cnpg.io
    "ScheduledBackup": "scheduledbackups",  # postgresql.cnpg.io
    "PersistentVolume": "persistentvolumes",
    "StorageClass": "storageclasses",
    "JournalPlatform": "journalplatforms",
    "Namespace": "namespaces",
    "Event": "events",
}
CLUSTER_SCOPED = frozenset({"Namespace", "PersistentVolume", "StorageClass"})


@dataclasses.dataclass
class ApiError(Exception):
    """A request the API server refused; ``status`` is the HTTP code."""

    status: int
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"


def resource_path(
    *,
    api_version: str,
    kind: str,
    namespace: str | None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The REST path of a collection or an object (``/apis/apps/v1/namespaces/x/deployments/y``)."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [base]
    if namespace is not None and kind not in CLUSTER_SCOPED:
        parts.append(f"namespaces/{namespace}")
    parts.append(PLURALS[kind])
    if name is not None:
        parts.append(name)
    if subresource is not None:
        parts.append(subresource)
    return "/".join(parts)


async def _call(
    client: k8s_client.Client,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
    content_type: str = "application/json",
) -> Any:
    try:
        return await client.api.call_api(
            path,
            method,
            query_params=query or [],
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            response_types_map={200: "object", 201: "object", 202: "object"},
            auth_settings=["BearerToken"],
            _return_http_data_only=True,
            _request_timeout=client.timeout,
        )
    except ApiException as exc:
        raise _api_error(exc) from exc
    except TimeoutError as exc:
        raise ApiError(
            status=0,
            reason="Timeout",
            message=f"{method} {path}: no answer within {client.timeout:g} s",
        ) from exc
    except aiohttp.ClientError as exc:
        raise ApiError(status=0, reason="Unreachable", message=f"{method} {path}: {exc}") from exc


def _api_error(exc: ApiException) -> ApiError:
    message = str(exc.body or exc.reason)
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        message = json.loads(message).get("message", message)
    return ApiError(status=int(exc.status or 0), reason=str(exc.reason), message=message)


def _identity(manifest: Mapping[str, Any]) -> tuple[str, str, str | None, str]:
    meta = manifest["metadata"]
    return manifest["apiVersion"], manifest["kind"], meta.get("namespace"), meta["name"]


async def apply(
    client: k8s_client.Client,
    manifest: Mapping[str, Any],
    *,
    field_manager: str = FIELD_MANAGER,
) -> Manifest:
    """Server-side apply one manifest we own, taking over any conflicting fields (force).

    ``field_manager`` is ours unless a field is being handed over to another owner (the
    API's replicas to its HPA: a second manager keeps the field while ours stops setting it).

    Returns:
        The object as stored after the apply.

    Raises:
        ApiError: the API server rejected the manifest (e.g. 422 invalid, 403 forbidden).
    """
    api_version, kind, namespace, name = _identity(manifest)
    path = resource_path(api_version=api_version, kind=kind, namespace=namespace, name=name)
    query = [("fieldManager", field_manager), ("force", "true")]
    result = await _call(
        client,
        "PATCH",
        path,
        query=query,
        body=dict(manifest),
        content_type="application/apply-patch+yaml",
    )
    return cast(Manifest, result)


async def create(client: k8s_client.Client, manifest: Mapping[str, Any]) -> Manifest | None:
    """Create an object unless one of that name exists; never overwrites.

    Returns:
        The created object, or ``None`` if it already existed (HTTP 409).
    """
    api_version, kind, namespace, _ = _identity(manifest)
    path = resource_path(api_version=api_version, kind=kind, namespace=namespace)
    try:
        result = await _call(
            client, "POST", path, query=[("fieldManager", FIELD_MANAGER)], body=dict(manifest)
        )
    except ApiError as exc:
        if exc.status == 409:
            return None
        raise
    return cast(Manifest, result)


async def get(
    client: k8s_client.Client, *, api_version: str, kind: str, namespace: str | None, name: str
) -> Manifest | None:
    """Read one object; ``None`` when it does not exist."""
    path = resource_path(api_version=api_version, kind=kind, namespace=namespace, name=name)
    try:
        return cast(Manifest, await _call(client, "GET", path))
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def list_objects(
    client: k8s_client.Client,
    *,
    api_version: str,
    kind: str,
    namespace: str | None,
    label_selector: str | None = None,
) -> list[Manifest]:
    """List objects of one kind in a namespace (or everywhere), optionally by labels."""
    path = resource_path(api_version=api_version, kind=kind, namespace=namespace)
    query = [("labelSelector", label_selector)] if label_selector else []
    result = cast(Manifest, await _call(client, "GET", path, query=query))
    return cast(list[Manifest], result.get("items") or [])


async def patch_merge(
    client: k8s_client.Client,
    *,
    api_version: str,
    kind: str,
    namespace: str | None,
    name: str,
    patch: Mapping[str, Any],
    subresource: str | None = None,
) -> Manifest | None:
    """JSON merge-patch an object (or its ``status``); ``None`` when it is gone."""
    path = resource_path(
        api_version=api_version, kind=kind, namespace=namespace, name=name, subresource=subresource
    )
    try:
        return cast(
            Manifest,
            await _call(
                client, "PATCH", path, body=dict(patch), content_type="application/merge-patch+json"
            ),
        )
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def delete(
    client: k8s_client.Client,
    *,
    api_version: str,
    kind: str,
    namespace: str | None,
    name: str,
    propagation: str = "Background",
) -> bool:
    """Delete an object; ``False`` when it was already gone."""
    path = resource_path(api_version=api_version, kind=kind, namespace=namespace, name=name)
    body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
    try:
        await _call(client, "DELETE", path, body=body)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def api_group_served(client: k8s_client.Client, *, api_version: str, kind: str) -> bool:
    """Whether the API server serves ``kind`` in ``api_version`` (e.g. a CRD is installed)."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    try:
        result = cast(Manifest, await _call(client, "GET", base))
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return any(r.get("kind") == kind for r in result.get("resources") or [])
