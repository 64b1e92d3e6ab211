"""kubectl against the test cluster, for the CRD tests: run, apply, read.

The CRD tests drive the API server the way users do, through kubectl with the
cluster's kubeconfig, and read its answers (exit code, stderr) as users would.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.support.cluster import LocalCluster


def run(
    cluster: LocalCluster, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`kubectl --kubeconfig <cluster's> ARGS`; raises AssertionError with stderr on failure."""
    result = cluster.kubectl(*args, stdin=stdin, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def create_namespace(cluster: LocalCluster, prefix: str) -> str:
    """A fresh namespace named `<prefix>-<random>` (no wait for its service account: the CRD
    tests create no pods)."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    run(cluster, "create", "namespace", name)
    return name


def delete_namespace(cluster: LocalCluster, name: str) -> None:
    """Delete a namespace without waiting for it."""
    run(cluster, "delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def apply(
    cluster: LocalCluster, namespace: str, document: str | Path, *, dry_run: bool = False
) -> subprocess.CompletedProcess[str]:
    """Server-side apply YAML text or a file; returns the result without raising."""
    args = ["apply", "--server-side", "--field-manager=journal-crd-tests", "-n", namespace]
    if dry_run:
        args.append("--dry-run=server")
    if isinstance(document, Path):
        return run(cluster, *args, "-f", str(document), check=False)
    return run(cluster, *args, "-f", "-", stdin=document, check=False)


def get(cluster: LocalCluster, namespace: str, name: str) -> dict[str, Any]:
    """The JournalPlatform `name` as JSON."""
    result: dict[str, Any] = json.loads(
        run(cluster, "get", "journalplatform", name, "-n", namespace, "-o", "json").stdout
    )
    return result
