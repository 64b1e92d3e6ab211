"""The operator's RBAC, per install mode, and what least privilege means for it.

Aspects:
- cluster-wide: one ClusterRole with every rule, bound to the operator's ServiceAccount;
- single namespace: a Role + RoleBinding in each watched namespace, and a ClusterRole that
  holds only cluster-scoped reads (CRDs, namespace names);
- least privilege, in every scenario: no wildcards, no privilege-escalation verbs, nothing
  on nodes/RBAC/webhooks, no deletecollection, `update` only where Kubernetes demands it,
  and exactly the (group, resource) pairs the operator works with;
- single namespace: no Secret (or any other namespaced object) is reachable outside the
  watched namespaces;
- the operator still gets every permission its framework and reconcile need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from journal_operator import permissions

from tests.charts import chart

ROLE_KINDS = ("ClusterRole", "Role")
BINDING_KINDS = ("ClusterRoleBinding", "RoleBinding")
# Verbs that would let the operator grant itself (or act as) more than it was given.
ESCALATION_VERBS = {"escalate", "bind", "impersonate", "approve", "sign"}
FORBIDDEN_GROUPS = {
    "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io",
    "certificates.k8s.io",
    "authentication.k8s.io",
}
FORBIDDEN_RESOURCES = {"nodes", "nodes/proxy", "pods/exec", "pods/attach", "serviceaccounts/token"}
# (apiGroup, resource) -> verbs: everything the operator may do, and nothing more, is what
# its code uses (journal_operator.permissions, each entry with the code path that needs it).
# The JournalPlatform group is checked against crds/ so a renamed group fails here.
NAMESPACED_GRANTS = {key: set(verbs) for key, verbs in permissions.NAMESPACED.items()}
CLUSTER_GRANTS = {key: set(verbs) for key, verbs in permissions.CLUSTER.items()}
NAMESPACE_SCANNING = {key: set(verbs) for key, verbs in permissions.NAMESPACE_SCANNING.items()}
# Verbs the operator's code never uses, and the review that found them granted.
NEVER = {
    ("", "pods"): {"get", "watch", "create", "delete"},
    ("apps", "statefulsets"): {"delete"},
    ("batch", "jobs"): {"patch", "delete"},
}

Grants = dict[tuple[str, str], set[str]]


def _expected(grants: dict[tuple[str, str], set[str]]) -> Grants:
    assert chart.crd_group() == permissions.GROUP
    return {key: set(verbs) for key, verbs in grants.items()}


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_rbac_grants_no_verb_the_code_does_not_use(
    rendered: dict[str, list[chart.Manifest]], scenario: str
) -> None:
    for manifest in rendered[scenario]:
        if manifest["kind"] in ROLE_KINDS:
            for key, verbs in grants_of(manifest).items():
                assert not verbs & NEVER.get(key, set()), (key, verbs)


def _rules(manifests: list[chart.Manifest]) -> Iterator[tuple[chart.Manifest, dict[str, Any]]]:
    for manifest in manifests:
        if manifest["kind"] in ROLE_KINDS:
            for rule in manifest.get("rules", []):
                yield manifest, rule


def grants_of(role: chart.Manifest) -> Grants:
    """(apiGroup, resource) -> verbs granted by one Role or ClusterRole."""
    grants: Grants = {}
    for rule in role.get("rules", []):
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


def _subject_is_operator(binding: chart.Manifest, service_account: str) -> None:
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": service_account, "namespace": chart.NAMESPACE}
    ]


def _service_account_name(manifests: list[chart.Manifest]) -> str:
    deployment = chart.only(manifests, "Deployment")
    name: str = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    return name


def test_cluster_wide_grants_everything_through_one_cluster_role(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    manifests = rendered[chart.CLUSTER_WIDE]
    role = chart.only(manifests, "ClusterRole")
    binding = chart.only(manifests, "ClusterRoleBinding")
    assert not chart.of_kind(manifests, "Role")
    assert not chart.of_kind(manifests, "RoleBinding")
    assert grants_of(role) == _expected({**NAMESPACED_GRANTS, **CLUSTER_GRANTS})
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    _subject_is_operator(binding, _service_account_name(manifests))


def test_single_namespace_grants_a_role_in_each_watched_namespace(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    manifests = rendered[chart.SINGLE_NAMESPACE]
    watched = chart.ci_values(chart.SINGLE_NAMESPACE)["watchNamespaces"]
    roles = {r["metadata"]["namespace"]: r for r in chart.of_kind(manifests, "Role")}
    bindings = {b["metadata"]["namespace"]: b for b in chart.of_kind(manifests, "RoleBinding")}
    assert sorted(roles) == sorted(watched)
    assert sorted(bindings) == sorted(watched)
    for namespace in watched:
        assert grants_of(roles[namespace]) == _expected(NAMESPACED_GRANTS)
        assert bindings[namespace]["roleRef"]["kind"] == "Role"
        assert bindings[namespace]["roleRef"]["name"] == roles[namespace]["metadata"]["name"]
        _subject_is_operator(bindings[namespace], _service_account_name(manifests))


def test_single_namespace_cluster_role_only_reads_cluster_scoped_objects(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    manifests = rendered[chart.SINGLE_NAMESPACE]
    role = chart.only(manifests, "ClusterRole")
    binding = chart.only(manifests, "ClusterRoleBinding")
    assert grants_of(role) == _expected({**CLUSTER_GRANTS, **NAMESPACE_SCANNING})
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    _subject_is_operator(binding, _service_account_name(manifests))


def test_single_namespace_service_account_name_is_used(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    manifests = rendered[chart.SINGLE_NAMESPACE]
    wanted = chart.ci_values(chart.SINGLE_NAMESPACE)["serviceAccount"]["name"]
    assert chart.only(manifests, "ServiceAccount")["metadata"]["name"] == wanted
    assert _service_account_name(manifests) == wanted


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_rbac_has_no_wildcards(rendered: dict[str, list[chart.Manifest]], scenario: str) -> None:
    for role, rule in _rules(rendered[scenario]):
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule.get(field, []), f"{role['metadata']['name']}: {rule}"
        assert "resourceNames" not in rule or rule["resourceNames"]
        assert "nonResourceURLs" not in rule


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_rbac_cannot_escalate_or_reach_cluster_internals(
    rendered: dict[str, list[chart.Manifest]], scenario: str
) -> None:
    for _, rule in _rules(rendered[scenario]):
        assert not ESCALATION_VERBS & set(rule["verbs"]), rule
        assert not FORBIDDEN_GROUPS & set(rule["apiGroups"]), rule
        assert not FORBIDDEN_RESOURCES & set(rule["resources"]), rule


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_rbac_never_deletes_collections_or_updates(
    rendered: dict[str, list[chart.Manifest]], scenario: str
) -> None:
    for manifest in rendered[scenario]:
        if manifest["kind"] not in ROLE_KINDS:
            continue
        for (group, resource), verbs in grants_of(manifest).items():
            assert "deletecollection" not in verbs, (group, resource)
            if "update" in verbs:
                assert resource == "journalplatforms/finalizers", (group, resource)


def test_single_namespace_reaches_no_secret_outside_watched_namespaces(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    manifests = rendered[chart.SINGLE_NAMESPACE]
    watched = set(chart.ci_values(chart.SINGLE_NAMESPACE)["watchNamespaces"])
    for role in chart.of_kind(manifests, "ClusterRole"):
        assert all(resource != "secrets" for _, resource in grants_of(role)), role
    for binding in chart.of_kind(manifests, "RoleBinding"):
        assert binding["metadata"]["namespace"] in watched
    for binding in chart.of_kind(manifests, "ClusterRoleBinding"):
        cluster_role = next(
            r
            for r in chart.of_kind(manifests, "ClusterRole")
            if r["metadata"]["name"] == binding["roleRef"]["name"]
        )
        namespaced = (
            set(grants_of(cluster_role)) - set(_expected(CLUSTER_GRANTS)) - set(NAMESPACE_SCANNING)
        )
        assert not namespaced, namespaced


def test_rbac_rules_are_commented_by_purpose() -> None:
    # The comments live in the template (rendered YAML loses them to the parser).
    template = (chart.CHART / "templates" / "rbac.yaml").read_text(encoding="utf-8")
    assert "# Framework: Kopf" in template
    assert "# Application:" in template


def test_default_is_namespaced_to_the_release_namespace(
    render_values: chart.RenderValues,
) -> None:
    manifests = render_values({})
    roles = chart.of_kind(manifests, "Role")
    assert [r["metadata"]["namespace"] for r in roles] == [chart.NAMESPACE]
    assert grants_of(roles[0]) == _expected(NAMESPACED_GRANTS)
    assert not chart.of_kind(manifests, "ClusterRoleBinding") or all(
        "secrets" not in {res for _, res in grants_of(r)}
        for r in chart.of_kind(manifests, "ClusterRole")
    )
    deployment = chart.only(manifests, "Deployment")
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert json.loads(env["JOURNAL_OPERATOR_NAMESPACES"]) == [chart.NAMESPACE]


def test_cluster_wide_is_opt_in(render_values: chart.RenderValues) -> None:
    manifests = render_values({"clusterWide": True})
    assert not chart.of_kind(manifests, "Role")
    role = chart.only(manifests, "ClusterRole")
    assert grants_of(role) == _expected({**NAMESPACED_GRANTS, **CLUSTER_GRANTS})
    deployment = chart.only(manifests, "Deployment")
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert json.loads(env["JOURNAL_OPERATOR_NAMESPACES"]) == []
