"""`helm install` into the real local control plane, then ask the API server who may do what.

Aspects:
- the chart installs (CRD included, adopting one that `kubectl apply -f crds/` put there)
  and its RBAC objects exist where the chart says;
- what `kubectl auth can-i --as=<the operator's ServiceAccount>` answers (asked as a
  SubjectAccessReview): everything the operator needs is allowed, and what it must not do
  is refused, in single-namespace and cluster-wide mode;
- the NOTES example passes the API server's own validation (CEL rules included);
- `helm uninstall` keeps the CRD (`helm.sh/resource-policy: keep`).

The operator Pod is faked by KWOK (no container runtime); nothing here needs it to run.
Runs on the local control plane (the `k8s_cluster` fixture, tests/support/cluster_fixtures.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from journal_operator import permissions

from tests.charts import chart
from tests.support import helm as helm_support
from tests.support.cluster import LocalCluster

pytestmark = pytest.mark.cluster

KUBECTL = os.environ.get("KUBECTL", "kubectl")

CRD_NAME = "journalplatforms.journalplatform.io"
HELM_ANNOTATIONS = (
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
    "helm.sh/resource-policy",
)
HELM_LABELS = (
    "helm.sh/chart",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
)
# (verb, resource, namespace or None for cluster scope, subresource or None)
Check = tuple[str, str, str | None, str | None]


@dataclass(frozen=True)
class Installed:
    """One chart release in the cluster, and how to reach it."""

    kubeconfig: Path
    release: str
    namespace: str
    watched: str
    unwatched: str
    service_account: str


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def _can(installed: Installed, check: Check) -> bool:
    """What `kubectl auth can-i --as=<operator SA>` answers, asked as a SubjectAccessReview.

    The review names group and resource explicitly, so it also works for kinds whose CRD
    (e.g. KServe's) is not installed, where `can-i` cannot resolve the resource name.
    """
    verb, resource, namespace, subresource = check
    plural, _, group = resource.partition(".")
    sa_namespace = installed.namespace
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": f"system:serviceaccount:{sa_namespace}:{installed.service_account}",
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{sa_namespace}",
                "system:authenticated",
            ],
            "resourceAttributes": {
                "verb": verb,
                "group": group,
                "resource": plural,
                "namespace": namespace or "",
                "subresource": subresource or "",
            },
        },
    }
    out = _kubectl(installed.kubeconfig, "create", "-o", "json", "-f", "-",
                   stdin=json.dumps(review))  # fmt: skip
    allowed: bool = json.loads(out)["status"].get("allowed", False)
    return allowed


@pytest.fixture(scope="module")
def kubeconfig(k8s_cluster: LocalCluster) -> Path:
    return Path(k8s_cluster.kubeconfig)


@pytest.fixture(scope="module")
def crd_existed(kubeconfig: Path) -> Iterator[bool]:
    """Whether the CRD was there before; if the test created it, it removes it afterwards."""
    existed = f"customresourcedefinition.apiextensions.k8s.io/{CRD_NAME}" in _kubectl(
        kubeconfig, "get", "crd", "-o", "name"
    )
    yield existed
    if not existed:
        _kubectl(kubeconfig, "delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=false")
        return
    # Hand the shared CRD back as crds/ left it: without the ownership marks of a release
    # that no longer exists (another install would otherwise have to --take-ownership).
    _kubectl(kubeconfig, "annotate", "crd", CRD_NAME, *(f"{key}-" for key in HELM_ANNOTATIONS))
    _kubectl(kubeconfig, "label", "crd", CRD_NAME, *(f"{key}-" for key in HELM_LABELS))


def _install(
    helm: helm_support.Helm, kubeconfig: Path, *, mode: str, crds: bool, watch: bool
) -> Iterator[Installed]:
    suffix = uuid.uuid4().hex[:6]
    installed = Installed(
        kubeconfig=kubeconfig,
        release=f"chart-{mode}-{suffix}",
        namespace=f"chart-{mode}-op-{suffix}",
        watched=f"chart-{mode}-team-{suffix}",
        unwatched=f"chart-{mode}-other-{suffix}",
        service_account=f"chart-{mode}-{suffix}-journal-operator",
    )
    for namespace in (installed.namespace, installed.watched, installed.unwatched):
        _kubectl(kubeconfig, "create", "namespace", namespace)
    args = [
        "install", installed.release, str(chart.CHART),
        "--namespace", installed.namespace,
        "--kubeconfig", str(kubeconfig),
        "--set", f"crds.create={str(crds).lower()}",
        # A CRD applied from crds/ beforehand is adopted, as a user switching to Helm would.
        "--take-ownership",
    ]  # fmt: skip
    if watch:
        args += ["--set", f"watchNamespaces={{{installed.watched}}}"]
    else:
        args += ["--set", "clusterWide=true"]
    helm.run(*args)
    try:
        yield installed
    finally:
        helm.run(
            "uninstall", installed.release, "--namespace", installed.namespace,
            "--kubeconfig", str(kubeconfig), check=False,
        )  # fmt: skip
        for namespace in (installed.namespace, installed.watched, installed.unwatched):
            _kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")


@pytest.fixture(scope="module")
def single_namespace(
    helm: helm_support.Helm, kubeconfig: Path, crd_existed: bool
) -> Iterator[Installed]:
    yield from _install(helm, kubeconfig, mode="ns", crds=True, watch=True)


@pytest.fixture(scope="module")
def cluster_wide(
    helm: helm_support.Helm, kubeconfig: Path, single_namespace: Installed
) -> Iterator[Installed]:
    # The CRD belongs to the first release; a second one must not try to own it.
    yield from _install(helm, kubeconfig, mode="cw", crds=False, watch=False)


def test_install_creates_crd_and_rbac_objects(single_namespace: Installed) -> None:
    crd = json.loads(_kubectl(single_namespace.kubeconfig, "get", "crd", CRD_NAME, "-o", "json"))
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert crd["metadata"]["annotations"]["meta.helm.sh/release-name"] == single_namespace.release
    fullname = single_namespace.service_account
    _kubectl(single_namespace.kubeconfig, "get", "role,rolebinding", fullname,
             "--namespace", single_namespace.watched)  # fmt: skip
    _kubectl(single_namespace.kubeconfig, "get", "clusterrole,clusterrolebinding",
             f"{fullname}-cluster")  # fmt: skip
    _kubectl(single_namespace.kubeconfig, "get", "serviceaccount,deployment", fullname,
             "--namespace", single_namespace.namespace)  # fmt: skip
    roles = _kubectl(single_namespace.kubeconfig, "get", "role", "--namespace",
                     single_namespace.unwatched, "-o", "name")  # fmt: skip
    assert roles == ""


def test_single_namespace_operator_may_do_its_work_in_the_watched_namespace(
    single_namespace: Installed,
) -> None:
    ns = single_namespace.watched
    needed: list[Check] = [
        ("watch", "journalplatforms.journalplatform.io", ns, None),
        ("patch", "journalplatforms.journalplatform.io", ns, None),
        ("patch", "journalplatforms.journalplatform.io", ns, "status"),
        ("create", "events", ns, None),
        ("patch", "deployments.apps", ns, None),
        ("create", "secrets", ns, None),
        ("watch", "secrets", ns, None),
        ("delete", "persistentvolumeclaims", ns, None),
        ("create", "inferenceservices.serving.kserve.io", ns, None),
        ("list", "customresourcedefinitions.apiextensions.k8s.io", None, None),
        ("watch", "namespaces", None, None),
    ]
    refused = [check for check in needed if not _can(single_namespace, check)]
    assert not refused


def test_single_namespace_operator_is_refused_everything_else(
    single_namespace: Installed,
) -> None:
    ns, other = single_namespace.watched, single_namespace.unwatched
    forbidden: list[Check] = [
        ("get", "secrets", other, None),
        ("patch", "journalplatforms.journalplatform.io", other, None),
        ("list", "secrets", None, None),
        ("create", "journalplatforms.journalplatform.io", ns, None),
        ("create", "journalplatforms.journalplatform.io", ns, "status"),
        ("update", "journalplatforms.journalplatform.io", ns, "scale"),
        ("deletecollection", "secrets", ns, None),
        ("create", "pods", ns, None),
        ("create", "pods", ns, "exec"),
        ("create", "persistentvolumeclaims", ns, None),
        ("create", "rolebindings.rbac.authorization.k8s.io", ns, None),
        ("delete", "customresourcedefinitions.apiextensions.k8s.io", None, None),
        ("get", "nodes", None, None),
        ("impersonate", "serviceaccounts", ns, None),
    ]
    granted = [check for check in forbidden if _can(single_namespace, check)]
    assert not granted


# Rules every authenticated user has (self reviews), not the chart's.
_DEFAULT_GROUPS = {"authorization.k8s.io", "authentication.k8s.io"}
_CAN_I_LINE = re.compile(r"^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]$")


def _can_i_list(installed: Installed, namespace: str) -> dict[tuple[str, str], set[str]]:
    """`kubectl auth can-i --list` as the operator's ServiceAccount: (group, resource) -> verbs."""
    out = _kubectl(
        installed.kubeconfig, "auth", "can-i", "--list", "--namespace", namespace,
        f"--as=system:serviceaccount:{installed.namespace}:{installed.service_account}",
    )  # fmt: skip
    grants: dict[tuple[str, str], set[str]] = {}
    for line in out.splitlines()[1:]:
        match = _CAN_I_LINE.match(line.strip())
        if match is None:
            continue
        resource, non_resource, names, verbs = match.groups()
        if non_resource or names or ("." not in resource and resource.startswith("/")):
            continue
        # `plural.group`, or `plural.group/subresource` for a subresource.
        resource, _, subresource = resource.partition("/")
        plural, _, group = resource.partition(".")
        if subresource:
            plural = f"{plural}/{subresource}"
        if group in _DEFAULT_GROUPS:
            continue
        grants.setdefault((group, plural), set()).update(verbs.split())
    return grants


def test_can_i_list_as_the_operator_is_exactly_what_its_code_calls(
    single_namespace: Installed,
) -> None:
    """The real API server's answer equals journal_operator.permissions: nothing missing,
    nothing more (a verb the code does not call would be a grant nobody reviewed)."""
    expected = {
        key: set(verbs)
        for table in (permissions.NAMESPACED, permissions.CLUSTER, permissions.NAMESPACE_SCANNING)
        for key, verbs in table.items()
    }
    assert _can_i_list(single_namespace, single_namespace.watched) == expected
    # Outside the watched namespace only the cluster-scoped reads remain.
    outside = {
        key: set(verbs)
        for table in (permissions.CLUSTER, permissions.NAMESPACE_SCANNING)
        for key, verbs in table.items()
    }
    assert _can_i_list(single_namespace, single_namespace.unwatched) == outside


def test_cluster_wide_operator_works_in_any_namespace_but_no_further(
    cluster_wide: Installed,
) -> None:
    anywhere = cluster_wide.unwatched
    assert _can(cluster_wide, ("patch", "journalplatforms.journalplatform.io", anywhere, "status"))
    assert _can(cluster_wide, ("patch", "statefulsets.apps", anywhere, None))
    assert _can(cluster_wide, ("watch", "journalplatforms.journalplatform.io", None, None))
    assert not _can(cluster_wide, ("create", "clusterroles.rbac.authorization.k8s.io", None, None))
    assert not _can(cluster_wide, ("escalate", "roles.rbac.authorization.k8s.io", anywhere, None))
    assert not _can(cluster_wide, ("delete", "namespaces", None, None))
    assert not _can(cluster_wide, ("list", "nodes", None, None))


def test_notes_example_is_accepted_by_the_api_server(
    single_namespace: Installed, helm: helm_support.Helm, tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(f"watchNamespaces: [{single_namespace.watched}]\n", encoding="utf-8")
    example = chart.notes_example(chart.render_notes(helm, tmp_path, values))
    out = _kubectl(single_namespace.kubeconfig, "apply", "--dry-run=server", "-o", "json",
                   "-f", "-", stdin=json.dumps(example))  # fmt: skip
    applied = json.loads(out)
    assert applied["metadata"]["namespace"] == single_namespace.watched
    # Server-side defaulting ran, so the CRD's defaults filled the rest of the spec.
    assert set(applied["spec"]) > set(example["spec"])


def test_uninstall_keeps_the_crd(single_namespace: Installed, helm: helm_support.Helm) -> None:
    helm.run(
        "uninstall", single_namespace.release, "--namespace", single_namespace.namespace,
        "--kubeconfig", str(single_namespace.kubeconfig),
    )  # fmt: skip
    names = _kubectl(single_namespace.kubeconfig, "get", "crd", "-o", "name")
    assert f"customresourcedefinition.apiextensions.k8s.io/{CRD_NAME}" in names
