"""The Kubernetes API client's lifecycle: created once in startup, closed in cleanup.

``handlers.py`` calls ``connect()`` from ``@kopf.on.startup`` and stores the result in the
operator's memo; ``close()`` runs from ``@kopf.on.cleanup``. Only ``k8s/`` imports
``kubernetes_asyncio``; the rest of the operator sees the opaque ``Client`` below.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105


# Every request's limit, connection and answer included: a hung connection must fail the
# call (and the pass, which retries with backoff) instead of holding a platform's lock.
REQUEST_TIMEOUT_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class Client:
    """An open connection to one API server (wraps kubernetes_asyncio's ``ApiClient``)."""

    api: k8s_client.ApiClient
    timeout: float = REQUEST_TIMEOUT_SECONDS


async def connect(
    kubeconfig: str | None = None, *, request_timeout: float = REQUEST_TIMEOUT_SECONDS
) -> Client:
    """Open a client: in-cluster when a service account is mounted, else a kubeconfig.

    Args:
        kubeconfig: kubeconfig path; None means ``$KUBECONFIG`` as it is *now* (Kopf reads it
            the same way, so both talk to the same cluster), then ``~/.kube/config``.
        request_timeout: seconds each request may take in all before it fails.

    Returns:
        A client that must be passed to ``close()`` when the operator stops.
    """
    configuration = k8s_client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    in_cluster = pathlib.Path(SERVICE_ACCOUNT_TOKEN).exists()  # noqa: ASYNC240 - startup only
    if in_cluster and path is None:
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await k8s_config.load_kube_config(
            config_file=path, client_configuration=configuration, persist_config=False
        )
    return Client(api=k8s_client.ApiClient(configuration=configuration), timeout=request_timeout)


async def close(client: Client) -> None:
    """Close the client's connection pool."""
    await client.api.close()
