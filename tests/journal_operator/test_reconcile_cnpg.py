"""`database.mode: cnpg` on the local control plane, against CloudNativePG's real CRDs.

Aspects under test (real API server with CloudNativePG's CRDs from ../shared/crds/cnpg,
operator subprocess, KWOK running the pods):
- the cnpg example becomes Ready: the API server accepted the Cluster and ScheduledBackup the
  operator applied (CloudNativePG's schema and CEL rules), they match the builders, and the
  API, the worker and the migrations get the generated Secret whose URI names the Cluster's
  read-write Service; no StatefulSet is made;
- `DatabaseReady` follows the Cluster's status: while the Cluster is "Setting up primary"
  the platform is not Ready and says so, and it becomes Ready when the Cluster does;
- a missing backup-credentials Secret keeps the platform Pending, naming the Secret and key;
- deleting a platform with deletionPolicy Retain keeps the Cluster, orphaned and labelled.

CloudNativePG's controller cannot run here (its instance manager runs inside real pods), so
the Cluster's status transition comes from the simulated CloudNativePG controller,
hack/cluster/stages-crd/cnpg-cluster.yaml (a fake, named as such): "Setting up primary",
then "Cluster in healthy state" unless the imageName carries a -stall/-fail marker.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from journal_operator import naming, observe, spec
from journal_operator.builders import cnpg

from tests import skips
from tests.support import platforms
from tests.support.cluster import LocalCluster, condition_is
from tests.support.operator_process import OperatorProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

BACKUP_SECRET = "journal-backup-s3"
STALLED_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.6-standard-bookworm-stall"


@pytest.fixture
def cnpg_cluster(k8s_cluster: LocalCluster) -> LocalCluster:
    """The cluster, where up.sh installed CloudNativePG's CRDs (only from ../shared)."""
    found = k8s_cluster.kubectl("get", "crd", "clusters.postgresql.cnpg.io", check=False)
    if found.returncode != 0:
        # CloudNativePG's CRDs ship only in ../shared (absent on a user's machine); no copy.
        pytest.skip(f"{skips.CNPG_CRD_ABSENT} ../shared/crds/cnpg (not installed by up.sh)")
    return k8s_cluster


def _backup_secret(cluster: LocalCluster, namespace: str) -> None:
    cluster.kubectl(
        "create",
        "secret",
        "generic",
        BACKUP_SECRET,
        "-n",
        namespace,
        "--from-literal=ACCESS_KEY_ID=AKIDEXAMPLE",
        "--from-literal=ACCESS_SECRET_KEY=not-a-real-key",
    )


def _lean_example(namespace: str, **overrides: Any) -> dict[str, Any]:
    # The example as written, with one API and worker pod and no model servers (2 CPUs).
    body = platforms.example(
        "cnpg",
        namespace,
        api={"replicas": 1},
        worker={"replicas": 1},
        inference={"mode": "deployment", "models": []},
    )
    body["spec"] = platforms.merge(body["spec"], overrides)
    return body


def test_cnpg_example_becomes_ready_through_the_cluster(
    cnpg_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    _backup_secret(cnpg_cluster, k8s_namespace)
    cnpg_cluster.apply(_lean_example(k8s_namespace))
    jp = platforms.wait_ready(cnpg_cluster, k8s_namespace, "journal")
    p = spec.parse(jp)
    database = next(c for c in jp["status"]["conditions"] if c["type"] == "DatabaseReady")
    assert (database["status"], database["reason"]) == ("True", "ClusterReady")
    assert jp["status"]["components"]["database"]["summary"] == "3/3"
    assert jp["status"]["components"]["database"]["host"] == naming.service_host(
        p, "journal-postgres-rw"
    )

    # What the API server accepted (CloudNativePG's schema) is what the builders make.
    for desired in cnpg.children(p):
        live = cnpg_cluster.get(
            f"{desired['kind'].lower()}s.postgresql.cnpg.io",
            desired["metadata"]["name"],
            namespace=k8s_namespace,
        )
        assert observe.is_subset(desired, live), desired["kind"]
        owners = live["metadata"]["ownerReferences"]
        assert [o["uid"] for o in owners] == [jp["metadata"]["uid"]]
    cluster = cnpg_cluster.get(
        "clusters.postgresql.cnpg.io", "journal-postgres", namespace=k8s_namespace
    )
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"] == {"name": "journal-database"}
    assert cluster["spec"]["backup"]["barmanObjectStore"]["s3Credentials"]["accessKeyId"] == {
        "name": BACKUP_SECRET,
        "key": "ACCESS_KEY_ID",
    }
    assert not cnpg_cluster.items("statefulsets", namespace=k8s_namespace)

    # The generated Secret is what CloudNativePG bootstraps with and what the pods connect by.
    secret = cnpg_cluster.get("secret", "journal-database", namespace=k8s_namespace)
    assert secret["type"] == "kubernetes.io/basic-auth"
    uri = base64.b64decode(secret["data"]["uri"]).decode()
    assert f"@journal-postgres-rw.{k8s_namespace}.svc:5432/journal" in uri
    for kind, name in (("deployment", "journal-api"), ("deployment", "journal-worker")):
        env = cnpg_cluster.get(kind, name, namespace=k8s_namespace)["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
        ref = next(e for e in env if e["name"] == "JOURNAL_API_DATABASE_URL")
        assert ref["valueFrom"]["secretKeyRef"] == {"name": "journal-database", "key": "uri"}
    (job,) = cnpg_cluster.items("jobs", namespace=k8s_namespace)
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    ref = next(e for e in env if e["name"] == "JOURNAL_API_DATABASE_URL")
    assert ref["valueFrom"]["secretKeyRef"]["name"] == "journal-database"


def test_database_ready_follows_the_cluster_status(
    cnpg_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    body = platforms.platform(
        "slow",
        k8s_namespace,
        database={"mode": "cnpg", "cnpg": {"instances": 2, "imageName": STALLED_IMAGE}},
    )
    cnpg_cluster.apply(body)

    def setting_up(jp: dict[str, Any]) -> bool:
        cond = next(
            (
                c
                for c in (jp.get("status") or {}).get("conditions") or []
                if c["type"] == "DatabaseReady"
            ),
            None,
        )
        return cond is not None and "Setting up primary" in cond["message"]

    jp = cnpg_cluster.wait_for(
        "journalplatform", "slow", setting_up, namespace=k8s_namespace, timeout=120
    )
    assert condition_is(jp, "DatabaseReady", "False")
    assert condition_is(jp, "Ready", "False")
    assert jp["status"]["components"]["database"]["summary"] == "0/2"

    # CloudNativePG (simulated) brings the Cluster up: the platform follows.
    platforms.patch_spec(
        cnpg_cluster,
        k8s_namespace,
        "slow",
        {"database": {"cnpg": {"imageName": "ghcr.io/cloudnative-pg/postgresql:17.6"}}},
    )
    jp = platforms.wait_ready(cnpg_cluster, k8s_namespace, "slow")
    assert condition_is(jp, "DatabaseReady")
    assert jp["status"]["components"]["database"]["summary"] == "2/2"


def test_missing_backup_secret_keeps_the_platform_pending(
    cnpg_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    cnpg_cluster.apply(_lean_example(k8s_namespace))
    jp = cnpg_cluster.wait_for(
        "journalplatform",
        "journal",
        lambda o: (o.get("status") or {}).get("phase") == "Pending",
        namespace=k8s_namespace,
        timeout=120,
    )
    assert f"Secret {BACKUP_SECRET} with key ACCESS_KEY_ID" in jp["status"]["phaseReason"]
    assert (
        cnpg_cluster.get_or_none(
            "clusters.postgresql.cnpg.io", "journal-postgres", namespace=k8s_namespace
        )
        is None
    )
    _backup_secret(cnpg_cluster, k8s_namespace)
    platforms.wait_ready(cnpg_cluster, k8s_namespace, "journal")


def test_retain_keeps_the_cluster_orphaned(
    cnpg_cluster: LocalCluster, k8s_namespace: str, journal_operator: OperatorProcess
) -> None:
    cnpg_cluster.apply(
        platforms.platform(
            "kept", k8s_namespace, database={"mode": "cnpg", "cnpg": {"instances": 1}}
        )
    )
    platforms.wait_ready(cnpg_cluster, k8s_namespace, "kept")
    cnpg_cluster.delete("journalplatform", "kept", namespace=k8s_namespace, wait=True)
    for _ in range(10):  # garbage collection would have taken it within these seconds
        time.sleep(1)
        cluster = cnpg_cluster.get_or_none(
            "clusters.postgresql.cnpg.io", "kept-postgres", namespace=k8s_namespace
        )
        assert cluster is not None
    assert not cluster["metadata"].get("ownerReferences")
    assert cluster["metadata"]["labels"]["journalplatform.io/retained"] == "true"
