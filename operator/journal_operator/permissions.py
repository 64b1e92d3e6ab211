"""Every Kubernetes permission the operator uses, with the code path that needs it.

The chart's RBAC (charts/journal-operator/templates/rbac.yaml) grants exactly these and
nothing more; ``tests/charts/test_chart_rbac.py`` compares the rendered rules with this
table and ``tests/charts/test_chart_install.py`` compares it with what
``kubectl auth can-i --list`` answers for the chart's ServiceAccount on a real API server.
A verb the code starts to use is added here first, with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping

GROUP = "journalplatform.io"

# (apiGroup, resource) -> verbs, in the watched namespaces.
NAMESPACED: Mapping[tuple[str, str], frozenset[str]] = {
    # Kopf lists and watches JournalPlatforms, reads one when a handler asks, and PATCHes
    # its finalizer and progress annotations (handlers.py).
    (GROUP, "journalplatforms"): frozenset({"get", "list", "watch", "patch"}),
    # reconcile._patch_status, reconcile.parse, finalizing: merge-patches of status.
    (GROUP, "journalplatforms/status"): frozenset({"patch"}),
    # Children's blockOwnerDeletion owner references, where the
    # OwnerReferencesPermissionEnforcement admission plugin runs.
    (GROUP, "journalplatforms/finalizers"): frozenset({"update"}),
    # kopf.info / kopf.warn (handlers._post_events) POST Events.
    ("", "events"): frozenset({"create"}),
    # Children: indexed and watched (handlers.CHILD_RESOURCES), applied server-side
    # (applying.Applier: PATCH, which creates a missing one), pruned when the spec drops
    # them (reconcile.PRUNABLE).
    **{
        child: frozenset({"list", "watch", "create", "patch", "delete"})
        for child in (
            ("", "configmaps"),
            ("", "services"),
            ("apps", "deployments"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("policy", "poddisruptionbudgets"),
            ("networking.k8s.io", "networkpolicies"),
            ("networking.k8s.io", "ingresses"),
            ("serving.kserve.io", "inferenceservices"),
            ("postgresql.cnpg.io", "scheduledbackups"),
        )
    },
    # The PostgreSQL StatefulSet: applied, never pruned (data); garbage-collected with the
    # platform.
    ("apps", "statefulsets"): frozenset({"list", "watch", "create", "patch"}),
    # The CloudNativePG Cluster: applied, never deleted (data); finalizing reads it.
    ("postgresql.cnpg.io", "clusters"): frozenset({"get", "list", "watch", "create", "patch"}),
    # Migrations Jobs: created once per release (reconcile._apply_child), never patched or
    # deleted (a failed one is the record that stops a retry loop; its TTL removes it).
    ("batch", "jobs"): frozenset({"list", "watch", "create"}),
    # Generated Secrets: read back and created once (reconcile.ensure_secrets), a user's
    # Secret read by name (wait_for_prerequisites), owner references patched on a
    # deletionPolicy change, the migrated version recorded on the JWT Secret
    # (reconcile._record_migrated), deleted under deletionPolicy Delete (finalizing); indexed by
    # name and resourceVersion only (handlers._index_secret).
    ("", "secrets"): frozenset({"get", "list", "watch", "create", "patch", "delete"}),
    # The database's claims: listed to grow them or to refuse a new password over a kept
    # volume, patched (size; retained label), deleted under deletionPolicy Delete.
    ("", "persistentvolumeclaims"): frozenset({"list", "patch", "delete"}),
    # Pods are only listed, while a workload is not ready, for their failure reasons
    # (reconcile._pods_with_problems).
    ("", "pods"): frozenset({"list"}),
}

# Cluster-scoped, in every mode.
CLUSTER: Mapping[tuple[str, str], frozenset[str]] = {
    # Kopf watches CRDs to notice the JournalPlatform CRD (re)appearing.
    ("apiextensions.k8s.io", "customresourcedefinitions"): frozenset({"get", "list", "watch"}),
    # finalizing: a retained volume's PersistentVolume gets reclaim policy Retain.
    ("", "persistentvolumes"): frozenset({"patch"}),
}

# Cluster-scoped, only with a list of watched namespaces: Kopf follows those namespaces.
NAMESPACE_SCANNING: Mapping[tuple[str, str], frozenset[str]] = {
    ("", "namespaces"): frozenset({"list", "watch"}),
}
