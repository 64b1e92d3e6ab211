"""The CRD on a real API server: installed, teaching, printing, scaling.

- the CRD is Established and accepts a server-side apply of itself (idempotent install);
- both examples are accepted and the server fills in the documented defaults;
- `kubectl explain jp.spec.database` shows the descriptions;
- `kubectl get jp` prints Ready, Phase, Version, API, Age (and Reason, Desired with -o wide)
  from the status the operator writes;
- `kubectl scale jp/NAME --replicas=5` writes spec.api.replicas through the scale subresource,
  and a HorizontalPodAutoscaler can target the JournalPlatform (AbleToScale).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.crds import kubectl
from tests.journal_operator import openapi
from tests.support.cluster import LocalCluster

pytestmark = pytest.mark.cluster

CRD_NAME = "journalplatforms.journalplatform.io"
STATUS = {
    "observedGeneration": 1,
    "phase": "Ready",
    "phaseReason": "all components ready",
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "ComponentsReady",
            "message": "",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ],
    "version": {"running": "1.0.0", "desired": "1.0.0", "migrated": "1.0.0"},
    "components": {"api": {"replicas": 2, "readyReplicas": 2, "summary": "2/2"}},
    "url": "http://demo-api.example.svc",
}


@pytest.fixture(scope="module")
def namespace(crd_installed: LocalCluster) -> Iterator[str]:
    name = kubectl.create_namespace(crd_installed, "crd-install")
    yield name
    kubectl.delete_namespace(crd_installed, name)


def test_crd_is_established(crd_installed: LocalCluster) -> None:
    conditions = json.loads(
        kubectl.run(crd_installed, "get", "crd", CRD_NAME, "-o", "json").stdout
    )["status"]["conditions"]
    assert {c["type"]: c["status"] for c in conditions}["Established"] == "True"


def test_crd_reapplies_server_side(crd_installed: LocalCluster) -> None:
    result = kubectl.run(
        crd_installed, "apply", "--server-side", "--force-conflicts", "-f", str(openapi.CRD_PATH)
    )
    assert CRD_NAME in result.stdout


@pytest.mark.parametrize("example", ["minimal", "full", "cnpg"])
def test_example_is_accepted(crd_installed: LocalCluster, namespace: str, example: str) -> None:
    path = openapi.EXAMPLES / f"{example}.yaml"
    result = kubectl.apply(crd_installed, namespace, path)
    assert result.returncode == 0, result.stderr
    # Two examples share a name with different database modes, which is immutable.
    kubectl.run(crd_installed, "delete", "-f", str(path), "-n", namespace, "--wait=true")


def test_server_applies_the_documented_defaults(
    crd_installed: LocalCluster, namespace: str
) -> None:
    kubectl.apply(crd_installed, namespace, openapi.EXAMPLES / "minimal.yaml")
    stored = kubectl.get(crd_installed, namespace, "demo")["spec"]
    expected = openapi.apply_defaults(
        openapi.load_yaml(openapi.EXAMPLES / "minimal.yaml"), openapi.platform_schema()
    )["spec"]
    # kubectl scale (below) may already have changed the replicas.
    stored["api"].pop("replicas")
    expected["api"].pop("replicas")
    assert stored == expected
    assert stored["database"]["managed"]["storage"] == "10Gi"
    assert stored["rollout"]["maxUnavailable"] == 0
    assert [(m["name"], m["task"]) for m in stored["inference"]["models"]] == [("analyzer", "all")]


def test_explain_teaches_the_database_fields(crd_installed: LocalCluster) -> None:
    text = kubectl.run(crd_installed, "explain", "jp.spec.database").stdout
    assert "managed runs PostgreSQL with pgvector" in " ".join(text.split()).replace("`", "")
    for field in ("mode", "managed", "external"):
        assert f"  {field}\t" in text or f"  {field} " in text
    managed = kubectl.run(
        crd_installed, "explain", "jp.spec.database.managed.storageClassName"
    ).stdout
    assert "Fixed once the platform exists" in " ".join(managed.split())


def test_printer_columns(crd_installed: LocalCluster, namespace: str) -> None:
    kubectl.apply(crd_installed, namespace, openapi.EXAMPLES / "minimal.yaml")
    kubectl.run(
        crd_installed,
        "patch",
        "journalplatform",
        "demo",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": STATUS}),
    )
    status, cells = _wide_row(crd_installed, namespace)
    assert list(cells) == [
        "NAME",
        "READY",
        "PHASE",
        "VERSION",
        "API",
        "AGE",
        "REASON",
        "DESIRED",
        "URL",
    ]
    # A running operator may have rewritten the status: compare with what is stored.
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert cells["READY"] == ready["status"]
    assert cells["PHASE"] == status["phase"]
    assert cells["REASON"] == ready["reason"]
    assert cells["VERSION"] == status.get("version", {}).get("running", "")
    assert cells["API"] == status.get("components", {}).get("api", {}).get("summary", "")
    assert cells["URL"] == status.get("url", "")
    assert (
        cells["DESIRED"] == openapi.load_yaml(openapi.EXAMPLES / "minimal.yaml")["spec"]["version"]
    )
    narrow = kubectl.run(crd_installed, "get", "jp", "demo", "-n", namespace).stdout.split("\n")[0]
    assert narrow.split() == ["NAME", "READY", "PHASE", "VERSION", "API", "AGE"]


def test_kubectl_scale_writes_api_replicas(crd_installed: LocalCluster, namespace: str) -> None:
    kubectl.apply(crd_installed, namespace, openapi.EXAMPLES / "minimal.yaml")
    kubectl.run(crd_installed, "scale", "jp/demo", "--replicas=5", "-n", namespace)
    assert kubectl.get(crd_installed, namespace, "demo")["spec"]["api"]["replicas"] == 5
    scale = json.loads(
        kubectl.run(
            crd_installed,
            "get",
            "--raw",
            f"/apis/journalplatform.io/v1alpha1/namespaces/{namespace}/journalplatforms/demo/scale",
        ).stdout
    )
    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 5


def test_hpa_can_target_the_platform(crd_installed: LocalCluster, namespace: str) -> None:
    kubectl.apply(crd_installed, namespace, openapi.EXAMPLES / "minimal.yaml")
    selector = "app.kubernetes.io/component=api,app.kubernetes.io/instance=demo"
    kubectl.run(
        crd_installed,
        "patch",
        "journalplatform",
        "demo",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"selector": selector}}),
    )
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "demo-platform"},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "journalplatform.io/v1alpha1",
                "kind": "JournalPlatform",
                "name": "demo",
            },
            "minReplicas": 2,
            "maxReplicas": 6,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }
    created = kubectl.apply(crd_installed, namespace, json.dumps(hpa))
    assert created.returncode == 0, created.stderr
    # The HPA controller reads the scale subresource; without a metrics server it cannot
    # act, but it reports whether it can scale the target at all. Right after the CRD is
    # installed its discovery cache may not know the kind yet (FailedGetScale, "no matches
    # for kind"), which it corrects on a later sync: wait for True, not the first answer.
    deadline = time.monotonic() + 120
    conditions: dict[str, str] = {}
    while time.monotonic() < deadline:
        status = json.loads(
            kubectl.run(
                crd_installed, "get", "hpa", "demo-platform", "-n", namespace, "-o", "json"
            ).stdout
        ).get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        if conditions.get("AbleToScale") == "True":
            break
        time.sleep(2)
    assert conditions.get("AbleToScale") == "True", conditions


def _wide_row(cluster: LocalCluster, namespace: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored status and the `-o wide` row read between two identical reads of it."""
    for _ in range(20):
        before = kubectl.get(cluster, namespace, "demo").get("status", {})
        table = kubectl.run(cluster, "get", "jp", "demo", "-n", namespace, "-o", "wide").stdout
        after = kubectl.get(cluster, namespace, "demo").get("status", {})
        if before == after:
            header, row = table.rstrip("\n").split("\n")
            return after, _cells(header, row)
        time.sleep(0.5)
    raise AssertionError("the platform's status kept changing")


def _cells(header: str, row: str) -> dict[str, str]:
    # kubectl aligns each column under its header; empty cells make split() unusable.
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    bounds = [*starts[1:], None]
    return {
        name: row[start:end].strip() for name, start, end in zip(names, starts, bounds, strict=True)
    }
