"""Fixtures for the CRD tests: the local control plane once our CRD is served."""

from __future__ import annotations

import time

import pytest

from tests.support.cluster import LocalCluster

CRD_NAME = "journalplatforms.journalplatform.io"


@pytest.fixture(scope="session")
def crd_installed(k8s_cluster: LocalCluster) -> LocalCluster:
    """The cluster, once our CRD is Established and served (discovery knows `jp`).

    The control plane installs crds/ at start; this waits for the API server to serve it,
    which on a loaded machine can lag behind the install.
    """
    deadline = time.monotonic() + 180
    while True:
        established = k8s_cluster.kubectl(
            "get",
            "crd",
            CRD_NAME,
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Established')].status}",
            check=False,
        )
        served = k8s_cluster.kubectl("get", "journalplatforms", "-A", check=False)
        if established.stdout.strip() == "True" and served.returncode == 0:
            return k8s_cluster
        if time.monotonic() > deadline:
            raise AssertionError(
                f"CRD {CRD_NAME} not served: {established.stderr or established.stdout}"
                f" / {served.stderr}"
            )
        time.sleep(1)
