"""Pytest fixtures for the real local Kubernetes control plane (tests/support/cluster.py).

Register with ``pytest_plugins = ["tests.support.cluster_fixtures"]``.

- ``k8s_cluster`` (session): a private cluster (own name ``journal-test-<pid>``, own state dir,
  own ports, own kubeconfig) started once per session and torn down at the end. It yields a
  :class:`~tests.support.cluster.LocalCluster`; ``.kubeconfig`` is the path to pass to kubectl,
  Kopf or a Kubernetes client. Skipped, with the reason, when the binaries cannot be built
  (no Go toolchain) or kubectl is missing. Set ``JOURNAL_TEST_KUBECONFIG`` to run against an
  already-running cluster instead (e.g. ``make cluster-up``: ``.local/kubeconfig``); it is then
  neither started nor stopped.
- ``k8s_namespace`` (function): a fresh namespace in that cluster, deleted afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import ClusterUnavailableError, LocalCluster, control_plane_bin_dir

_WORKDIR_PREFIX = "journal-k8s-"
_NAME_PREFIX = "journal-test-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphaned_clusters() -> None:
    """Stop test clusters left behind by sessions that were killed before their teardown."""
    for cluster_dir in Path(tempfile.gettempdir()).glob(
        f"{_WORKDIR_PREFIX}*/kwok/clusters/{_NAME_PREFIX}*"
    ):
        pid = cluster_dir.name.removeprefix(_NAME_PREFIX)
        if not pid.isdigit() or _pid_alive(int(pid)):
            continue
        workdir = cluster_dir.parents[2]
        orphan = LocalCluster(name=cluster_dir.name)
        orphan.workdir = workdir
        orphan.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def k8s_cluster() -> Iterator[LocalCluster]:
    # Every skip below is ClusterUnavailableError only: no Go toolchain to build the control
    # plane and no kubectl (build.sh exit 3). A build or start that fails for any other reason
    # is an error, so CI, which has Go, can never silently skip the cluster tests.
    existing = os.environ.get("JOURNAL_TEST_KUBECONFIG")
    if existing:
        try:
            yield LocalCluster.existing(Path(existing))
        except ClusterUnavailableError as exc:
            pytest.skip(f"local Kubernetes control plane unavailable: {exc}")
        return
    try:
        bin_dir = control_plane_bin_dir()
    except ClusterUnavailableError as exc:
        pytest.skip(f"local Kubernetes control plane unavailable: {exc}")
    # Every kubectl the tests start (directly, or through helm) then matches the server's
    # version, and a machine without kubectl of its own still runs the suite.
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        cluster = LocalCluster(name=f"{_NAME_PREFIX}{os.getpid()}")
    except ClusterUnavailableError as exc:
        pytest.skip(f"local Kubernetes control plane unavailable: {exc}")
    reap_orphaned_clusters()
    # A short private path (not tmp_path_factory's deep one): it holds the PKI, etcd data and
    # logs, and down.sh removes the cluster's part of it.
    workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
    try:
        cluster.start(workdir)
    except ClusterUnavailableError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"local Kubernetes control plane unavailable: {exc}")
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def k8s_namespace(k8s_cluster: LocalCluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    k8s_cluster.create_namespace(name)
    yield name
    k8s_cluster.kubectl(
        "delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False
    )
