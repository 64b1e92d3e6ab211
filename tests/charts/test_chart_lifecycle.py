"""From `helm install` to an upgraded platform and back out, on the local control plane.

Aspects:
- every manifest both charts render, for each ``charts/*/ci/*-values.yaml`` scenario, is
  accepted by the real kube-apiserver (``kubectl apply --dry-run=server``), with the
  Prometheus Operator's CRDs installed (fetched from its Go module by hack/promtool/build.sh;
  KServe's and CloudNativePG's are installed by the cluster itself);
- the operator, run as a local process with exactly the environment of the chart's rendered
  Deployment and authenticated as the chart's ServiceAccount (a token of that account, so
  every call it makes is authorised by the chart's RBAC and nothing else), reconciles a
  platform created by the ``journal-platform`` chart to Ready;
- ``helm upgrade`` of the operator chart rolls its Deployment, and of the platform chart to a
  new version rolls the platform, migrations first: when the API first runs the new version,
  the new version's migrations Job has already succeeded;
- ``helm uninstall`` of the platform with ``deletionPolicy: Retain`` keeps its data (the
  generated Secrets and the database's volume claims), and of the operator keeps the CRD.

The Pods are simulated by KWOK (no container runtime): the operator itself runs as a process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import skips
from tests.charts import chart
from tests.support import helm as helm_support
from tests.support import platforms, ports, prometheus
from tests.support.cluster import LocalCluster, condition_is

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

CRD_NAME = "journalplatforms.journalplatform.io"
HELM_ANNOTATIONS = ("meta.helm.sh/release-name", "meta.helm.sh/release-namespace",
                    "helm.sh/resource-policy")  # fmt: skip
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
               "app.kubernetes.io/version", "app.kubernetes.io/component",
               "app.kubernetes.io/name", "app.kubernetes.io/part-of")  # fmt: skip
RETAINED_LABEL = "journalplatform.io/retained"
PLATFORM_CI = {p.name: p for p in sorted(chart.PLATFORM_CHART.glob("ci/*-values.yaml"))}
# Lean enough for a 2-core machine: one API pod, one worker, no model servers.
LEAN = {
    "api": {"replicas": 1},
    "worker": {"replicas": 1},
    "inference": {"mode": "deployment", "models": []},
    "deletionPolicy": "Retain",
}


def _kubectl(cluster: LocalCluster, *args: str, stdin: str | None = None) -> str:
    result = cluster.kubectl(*args, stdin=stdin, check=False)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return str(result.stdout)


@pytest.fixture(scope="module")
def monitoring_crds(k8s_cluster: LocalCluster) -> None:
    try:
        folder = prometheus.prometheus_dir() / "crds"
    except prometheus.PrometheusToolsUnavailableError as exc:
        pytest.skip(f"{skips.PROMTOOL_UNAVAILABLE}: {exc}")
    for crd in sorted(folder.glob("*.yaml")):
        k8s_cluster.apply(crd)
    # Polled, not `kubectl wait`: that fails on a CRD whose status has no conditions yet.
    for plural in ("servicemonitors", "podmonitors", "prometheusrules"):
        k8s_cluster.wait_for(
            "crd", f"{plural}.monitoring.coreos.com",
            lambda crd: condition_is(crd, "Established"), timeout=60,
        )  # fmt: skip


def _namespace(cluster: LocalCluster, name: str) -> bool:
    """Create ``name`` unless it exists; True when this call created it."""
    if cluster.get_or_none("namespace", name) is not None:
        return False
    cluster.create_namespace(name)
    return True


def _dry_run(cluster: LocalCluster, manifests: list[dict[str, Any]]) -> str:
    text = "\n---\n".join(yaml.safe_dump(m) for m in manifests)
    return _kubectl(cluster, "apply", "--dry-run=server", "--server-side", "--force-conflicts",
                    "--field-manager=chart-dry-run", "-f", "-", stdin=text)  # fmt: skip


@pytest.mark.usefixtures("monitoring_crds")
def test_every_rendered_manifest_is_accepted_by_the_api_server(
    k8s_cluster: LocalCluster, helm: helm_support.Helm
) -> None:
    created: list[str] = []
    try:
        for name, values in chart.CI_VALUES.items():
            scenario = yaml.safe_load(values.read_text("utf-8")) or {}
            for namespace in [chart.NAMESPACE, *scenario.get("watchNamespaces", [])]:
                if _namespace(k8s_cluster, namespace):
                    created.append(namespace)
            manifests = helm.template(chart.CHART, release=chart.RELEASE,
                                      namespace=chart.NAMESPACE, values_files=[values],
                                      kube_version=chart.KUBE_VERSION)  # fmt: skip
            out = _dry_run(k8s_cluster, manifests)
            assert out.count("(server dry run)") == len(manifests), f"{name}: {out}"
        assert "04-monitoring" in chart.CI_VALUES
        assert PLATFORM_CI, "charts/journal-platform/ci has no scenario"
        for name, values in PLATFORM_CI.items():
            manifests = helm.template(chart.PLATFORM_CHART, release="journal",
                                      namespace=chart.NAMESPACE, values_files=[values],
                                      kube_version=chart.KUBE_VERSION)  # fmt: skip
            out = _dry_run(k8s_cluster, manifests)
            assert out.count("(server dry run)") == len(manifests), f"{name}: {out}"
    finally:
        for namespace in created:
            k8s_cluster.delete("namespace", namespace)


def test_a_manifest_the_api_server_refuses_fails_the_dry_run(
    k8s_cluster: LocalCluster, helm: helm_support.Helm
) -> None:
    # The check has teeth: the CRD's own validation refuses a bad spec.version server-side.
    (platform,) = helm.template(chart.PLATFORM_CHART, release="journal", namespace="default",
                                kube_version=chart.KUBE_VERSION)  # fmt: skip
    platform["spec"]["api"] = {"replicas": -1}
    text = yaml.safe_dump(platform)
    result = k8s_cluster.kubectl("apply", "--dry-run=server", "-f", "-", stdin=text, check=False)
    assert result.returncode != 0
    assert "replicas" in result.stderr


@dataclass
class Release:
    cluster: LocalCluster
    helm: helm_support.Helm
    name: str
    operator_ns: str
    app_ns: str
    liveness_port: int
    metrics_port: int
    log: Path

    def helm_args(self, *args: str) -> list[str]:
        return [*args, "--kubeconfig", str(self.cluster.kubeconfig)]

    def operator_values(self, **extra: str) -> list[str]:
        sets = {
            "crds.create": "true",
            "watchNamespaces": f"{{{self.app_ns}}}",
            "liveness.port": str(self.liveness_port),
            "metrics.port": str(self.metrics_port),
            **extra,
        }
        return [arg for key, value in sets.items() for arg in ("--set", f"{key}={value}")]

    def deployment(self) -> dict[str, Any]:
        found: dict[str, Any] = self.cluster.get(
            "deployment", f"{self.name}-journal-operator", namespace=self.operator_ns
        )
        return found


class LocalOperator:
    """The chart's operator container, run here: its env, its ServiceAccount, nothing else."""

    def __init__(self, release: Release) -> None:
        self.release = release
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        deployment = self.release.deployment()
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", "journal_operator"]
        chart_env = {e["name"]: e["value"] for e in container["env"]}
        kubeconfig = self._service_account_kubeconfig(pod["serviceAccountName"])
        # Only what any process needs (PATH, HOME) from outside; every JOURNAL_OPERATOR_*
        # setting is the chart's.
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "KUBECONFIG": str(kubeconfig),
            **chart_env,
        }
        with self.release.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "journal_operator"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        ports.wait_for_port(int(chart_env["JOURNAL_OPERATOR_LIVENESS_PORT"]), timeout=60)

    def _service_account_kubeconfig(self, service_account: str) -> Path:
        cluster = self.release.cluster
        token = _kubectl(cluster, "create", "token", service_account, "--namespace",
                         self.release.operator_ns, "--duration=2h").strip()  # fmt: skip
        config = yaml.safe_load(Path(cluster.kubeconfig).read_text("utf-8"))
        context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
        (clusters,) = [c for c in config["clusters"] if c["name"] == context["context"]["cluster"]]
        user = f"system:serviceaccount:{self.release.operator_ns}:{service_account}"
        path = self.release.log.parent / "operator-kubeconfig.yaml"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "operator",
            "clusters": [clusters],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "operator", "context": {"cluster": clusters["name"],
                                                          "user": user}}],
        }), encoding="utf-8")  # fmt: skip
        path.chmod(0o600)
        return path

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture(scope="module")
def release(
    k8s_cluster: LocalCluster, helm: helm_support.Helm, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Release]:
    suffix = uuid.uuid4().hex[:6]
    rel = Release(
        cluster=k8s_cluster, helm=helm, name=f"lc-{suffix}", operator_ns=f"lc-op-{suffix}",
        app_ns=f"lc-app-{suffix}", liveness_port=ports.free_port(),
        metrics_port=ports.free_port(), log=tmp_path_factory.mktemp("lifecycle") / "operator.log",
    )  # fmt: skip
    crd_before = k8s_cluster.get("crd", CRD_NAME)["metadata"]
    for namespace in (rel.operator_ns, rel.app_ns):
        k8s_cluster.create_namespace(namespace)
    try:
        yield rel
    finally:
        for args in (("uninstall", "journal", "--namespace", rel.app_ns),
                     ("uninstall", rel.name, "--namespace", rel.operator_ns)):  # fmt: skip
            helm.run(*rel.helm_args(*args, "--ignore-not-found"), check=False)
        for namespace in (rel.operator_ns, rel.app_ns):
            k8s_cluster.delete("namespace", namespace)
        # Hand the shared CRD back as it was: without a dead release's ownership marks.
        meta = k8s_cluster.get("crd", CRD_NAME)["metadata"]
        added_annotations = [k for k in HELM_ANNOTATIONS if k in meta.get("annotations", {})
                             and k not in crd_before.get("annotations", {})]  # fmt: skip
        added_labels = [k for k in HELM_LABELS if k in meta.get("labels", {})
                        and k not in crd_before.get("labels", {})]  # fmt: skip
        if added_annotations:
            _kubectl(
                k8s_cluster, "annotate", "crd", CRD_NAME, *(f"{k}-" for k in added_annotations)
            )
        if added_labels:
            _kubectl(k8s_cluster, "label", "crd", CRD_NAME, *(f"{k}-" for k in added_labels))


def _platform_values(tmp: Path, version: str | None = None) -> Path:
    """The platform chart's values; no ``version`` means the chart's default (appVersion)."""
    values: dict[str, Any] = {"name": "journal", "spec": LEAN}
    if version is not None:
        values["version"] = version
    path = tmp / f"platform-{version or 'default'}.yaml"
    path.write_text(yaml.safe_dump(values), "utf-8")
    return path


def _app_version() -> str:
    """The platform chart's appVersion: the tag `make images` builds by default."""
    meta = yaml.safe_load((chart.PLATFORM_CHART / "Chart.yaml").read_text("utf-8"))
    return str(meta["appVersion"])


def _next_minor(version: str) -> str:
    major, minor, *_ = version.split(".")
    return f"{major}.{int(minor) + 1}.0"


def _api_version(cluster: LocalCluster, namespace: str) -> str | None:
    found = cluster.get_or_none("deployment", "journal-api", namespace=namespace)
    if found is None:
        return None
    (container,) = [
        c for c in found["spec"]["template"]["spec"]["containers"] if c["name"] == "api"
    ]
    return str(container["image"]).rsplit(":", 1)[-1]


def _migration_succeeded(cluster: LocalCluster, namespace: str, version: str) -> bool:
    jobs = cluster.items("job", namespace=namespace)
    return any(
        job["metadata"].get("labels", {}).get("app.kubernetes.io/version") == version
        and (job.get("status") or {}).get("succeeded", 0) >= 1
        for job in jobs
    )


def _record_phase(cluster: LocalCluster, namespace: str, seen: list[str]) -> None:
    jp = cluster.get_or_none("journalplatform", "journal", namespace=namespace) or {}
    conditions = {c["type"]: c for c in (jp.get("status") or {}).get("conditions", [])}
    migrated = conditions.get("Migrated", {})
    step = f"{(jp.get('status') or {}).get('phase')} (Migrated: {migrated.get('reason')})"
    if not seen or seen[-1] != step:
        seen.append(step)


def test_install_reconcile_upgrade_uninstall(release: Release, tmp_path: Path) -> None:
    cluster, helm = release.cluster, release.helm
    helm.run(*release.helm_args("install", release.name, str(chart.CHART), "--namespace",
                                release.operator_ns, "--take-ownership", "--wait=false",
                                *release.operator_values()))  # fmt: skip
    operator = LocalOperator(release)
    operator.start()
    try:
        # The platform, from the platform chart, reconciled to Ready by the chart's operator.
        # Installed at the chart's default version, which is the tag `make images` builds and
        # `make push` pushes by default: what the README tells a team to do.
        installed, upgraded = _app_version(), _next_minor(_app_version())
        helm.run(*release.helm_args("install", "journal", str(chart.PLATFORM_CHART),
                                    "--namespace", release.app_ns,
                                    "-f", str(_platform_values(tmp_path))))  # fmt: skip
        ready = platforms.wait_ready(cluster, release.app_ns, "journal")
        assert ready["spec"]["images"]["registry"] == "ghcr.io/journal-platform"
        assert ready["spec"]["version"] == installed
        assert _api_version(cluster, release.app_ns) == installed
        print(_kubectl(cluster, "get", "jp", "--namespace", release.app_ns))  # README output

        # Scaling through the scale subresource (`kubectl scale jp`), as the README shows.
        _kubectl(cluster, "scale", "jp", "journal", "--namespace", release.app_ns,
                 "--replicas=2")  # fmt: skip
        cluster.wait_for(
            "journalplatform", "journal",
            lambda jp: (jp.get("status") or {}).get("components", {}).get("api", {})
            .get("summary") == "2/2" and platforms.is_ready(jp),
            namespace=release.app_ns, timeout=platforms.READY_TIMEOUT,
        )  # fmt: skip
        print(_kubectl(cluster, "get", "jp", "--namespace", release.app_ns))

        # helm upgrade of the operator chart to a new version rolls its Deployment (Recreate:
        # one operator at a time); the new operator (same ServiceAccount, the new chart's env)
        # takes over.
        before = release.deployment()
        helm.run(*release.helm_args("upgrade", release.name, str(chart.CHART), "--namespace",
                                    release.operator_ns, "--wait=false",
                                    *release.operator_values(**{"image.tag": upgraded,
                                                                "logLevel": "DEBUG"})))  # fmt: skip
        after = release.deployment()
        assert after["metadata"]["generation"] > before["metadata"]["generation"]
        (container,) = after["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"ghcr.io/journal-platform/journal-operator:{upgraded}"
        assert after["spec"]["strategy"]["type"] == "Recreate"
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["JOURNAL_OPERATOR_LOG_LEVEL"] == "DEBUG"
        operator.stop()
        operator.start()

        # helm upgrade of the platform to a new version: migrations first, then the API.
        helm.run(*release.helm_args("upgrade", "journal", str(chart.PLATFORM_CHART),
                                    "--namespace", release.app_ns,
                                    "-f", str(_platform_values(tmp_path, upgraded))))  # fmt: skip
        deadline = time.monotonic() + platforms.READY_TIMEOUT
        seen: list[str] = []
        while _api_version(cluster, release.app_ns) != upgraded:
            assert time.monotonic() < deadline, f"the API never rolled to {upgraded}"
            _record_phase(cluster, release.app_ns, seen)
            time.sleep(0.2)
        _record_phase(cluster, release.app_ns, seen)
        print("upgrade:", " -> ".join(seen))
        assert any("Migrating" in step for step in seen), seen
        assert _migration_succeeded(cluster, release.app_ns, upgraded), (
            f"the API ran {upgraded} before the {upgraded} migrations succeeded"
        )
        # Ready, and settled: just after a rollout the Deployment's readyReplicas may still
        # count a terminating old pod for a moment (3/2).
        ready = cluster.wait_for(
            "journalplatform", "journal",
            lambda jp: platforms.is_ready(jp)
            and (jp.get("status") or {}).get("components", {}).get("api", {}).get("summary")
            == "2/2",
            namespace=release.app_ns, timeout=platforms.READY_TIMEOUT,
        )  # fmt: skip
        print(_kubectl(cluster, "get", "jp", "--namespace", release.app_ns))  # README output

        # helm uninstall with deletionPolicy Retain: the platform goes, its data stays.
        uid = ready["metadata"]["uid"]
        helm.run(*release.helm_args("uninstall", "journal", "--namespace", release.app_ns,
                                    "--wait"))  # fmt: skip
        deadline = time.monotonic() + 120
        while cluster.get_or_none("journalplatform", "journal", namespace=release.app_ns):
            assert time.monotonic() < deadline, "the platform was never deleted"
            time.sleep(0.5)
        kept = {
            kind: [o["metadata"]["name"] for o in cluster.items(kind, namespace=release.app_ns)
                   if RETAINED_LABEL in o["metadata"].get("labels", {})]
            for kind in ("secret", "persistentvolumeclaim")
        }  # fmt: skip
        assert kept["secret"], "Retain kept no generated Secret"
        assert kept["persistentvolumeclaim"], "Retain kept no database volume claim"
        for kind in ("secret", "persistentvolumeclaim"):
            for obj in cluster.items(kind, namespace=release.app_ns):
                owners = obj["metadata"].get("ownerReferences", [])
                assert all(o.get("uid") != uid for o in owners), f"{kind} still owned"
    finally:
        operator.stop()

    # helm uninstall of the operator keeps the CRD (helm.sh/resource-policy: keep).
    helm.run(*release.helm_args("uninstall", release.name, "--namespace", release.operator_ns))
    crd = cluster.get("crd", CRD_NAME)
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert json.dumps(crd["spec"]["names"]["shortNames"]) == '["jp"]'
