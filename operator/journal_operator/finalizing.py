"""Deleting a platform: honour ``deletionPolicy`` before garbage collection runs.

Called by ``handlers.finalize_platform`` (``@kopf.on.delete``, behind the operator's
finalizer). Everything a platform owns is removed by Kubernetes' garbage collector through
owner references; only the data that must outlive the platform on ``Retain`` (the generated
Secrets, the database volumes) needs the operator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from journal_operator import metrics, naming
from journal_operator import status as status_mod
from journal_operator.k8s import apply as k8s
from journal_operator.k8s import client as k8s_client

RETAINED_LABEL = f"{naming.GROUP}/retained"
# Kinds that hold data: Secrets (generated credentials) and the database's volume claims.
DATA_KINDS = ("Secret", "PersistentVolumeClaim")
CNPG_API = "postgresql.cnpg.io/v1"


async def finalize(
    client: k8s_client.Client,
    *,
    owner: Mapping[str, Any],
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    """Apply ``deletionPolicy`` to the data that garbage collection would otherwise decide.

    Retain: the generated Secrets lose any owner reference (so GC keeps them) and, like the
    database volumes, get the ``retained`` label, and the volumes' PersistentVolumes get
    reclaim policy Retain; a CloudNativePG Cluster is orphaned the same way. A platform of the
    same name adopts them.
    Delete: Secrets and volumes are deleted now. Everything else goes by owner references.
    """
    meta = owner.get("metadata") or {}
    namespace, name, uid = str(meta.get("namespace")), str(meta.get("name")), meta.get("uid")
    policy = (owner.get("spec") or {}).get("deletionPolicy", "Retain")
    await _report_deleting(client, owner, policy)
    selector = f"{naming.LABEL_INSTANCE}={name},{naming.LABEL_MANAGED_BY}={naming.MANAGER}"
    for kind in DATA_KINDS:
        found = await k8s.list_objects(
            client, api_version="v1", kind=kind, namespace=namespace, label_selector=selector
        )
        for body in found:
            refs = body["metadata"].get("ownerReferences") or []
            if kind == "Secret" and refs and not any(r.get("uid") == uid for r in refs):
                continue  # adopted by another platform since: not ours to decide
            await _apply_policy(client, kind, body, policy=policy, owner_uid=uid, logger=logger)
            if kind == "PersistentVolumeClaim" and policy == "Retain":
                await _retain_volume(client, body, logger=logger)
    database = (owner.get("spec") or {}).get("database") or {}
    if database.get("mode") == "cnpg" and policy == "Retain":
        await _retain_cnpg_cluster(client, owner, owner_uid=uid, logger=logger)
    metrics.record_phase((namespace, name), None)


async def _retain_volume(
    client: k8s_client.Client,
    claim: Mapping[str, Any],
    *,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    """Set the bound PersistentVolume's reclaim policy to Retain.

    A dynamically provisioned volume usually has the StorageClass's `Delete`: once the retained
    claim is deleted (by hand, with the namespace), the data would go with it.
    """
    volume = (claim.get("spec") or {}).get("volumeName")
    if not volume:
        return
    logger.info("setting reclaim policy Retain on PersistentVolume %s", volume)
    await k8s.patch_merge(
        client,
        api_version="v1",
        kind="PersistentVolume",
        namespace=None,
        name=str(volume),
        patch={"spec": {"persistentVolumeReclaimPolicy": "Retain"}},
    )


async def _retain_cnpg_cluster(
    client: k8s_client.Client,
    owner: Mapping[str, Any],
    *,
    owner_uid: str | None,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    """Keep the CloudNativePG Cluster (and so its volumes) running without the platform.

    It loses our owner reference and gets the `retained` label; a platform of the same name
    applies it again and so adopts it. Its volumes' reclaim policy is set to Retain too.
    """
    meta = owner.get("metadata") or {}
    namespace, name = str(meta.get("namespace")), str(meta.get("name"))
    cluster_name = naming.dns_label(f"{name}-postgres", max_length=naming.MAX_STATEFULSET_NAME)
    found = await k8s.get(
        client, api_version=CNPG_API, kind="Cluster", namespace=namespace, name=cluster_name
    )
    if found is not None:
        await _apply_policy(
            client, "Cluster", found, policy="Retain", owner_uid=owner_uid, logger=logger
        )
    claims = await k8s.list_objects(
        client,
        api_version="v1",
        kind="PersistentVolumeClaim",
        namespace=namespace,
        label_selector=f"cnpg.io/cluster={cluster_name}",
    )
    for claim in claims:
        await _retain_volume(client, claim, logger=logger)


async def _report_deleting(
    client: k8s_client.Client, owner: Mapping[str, Any], policy: str
) -> None:
    meta = owner.get("metadata") or {}
    current = dict(owner.get("status") or {})
    deleting = {"phase": str(status_mod.Phase.DELETING), "phaseReason": f"deletionPolicy {policy}"}
    if status_mod.differs(current, deleting):
        await k8s.patch_merge(
            client,
            api_version=naming.API_VERSION,
            kind=naming.KIND,
            namespace=str(meta.get("namespace")),
            name=str(meta.get("name")),
            patch={"status": deleting},
            subresource="status",
        )


async def _apply_policy(
    client: k8s_client.Client,
    kind: str,
    body: Mapping[str, Any],
    *,
    policy: str,
    owner_uid: str | None,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    meta = body["metadata"]  # items of a list carry no kind of their own
    api_version = CNPG_API if kind == "Cluster" else "v1"
    if policy == "Delete":
        logger.info("deleting %s %s (deletionPolicy Delete)", kind, meta["name"])
        await k8s.delete(
            client, api_version="v1", kind=kind, namespace=meta["namespace"], name=meta["name"]
        )
        return
    logger.info("retaining %s %s (deletionPolicy Retain)", kind, meta["name"])
    kept = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner_uid]
    await k8s.patch_merge(
        client,
        api_version=api_version,
        kind=kind,
        namespace=meta["namespace"],
        name=meta["name"],
        patch={"metadata": {"ownerReferences": kept or None, "labels": {RETAINED_LABEL: "true"}}},
    )
