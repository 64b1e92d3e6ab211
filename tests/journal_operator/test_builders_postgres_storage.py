"""Growing the managed database's volume, without a cluster.

- the StatefulSet keeps the claim size it was created with (its template is immutable), so
  a larger `storage` never makes its apply fail;
- the data claims that request less than `storage` are the ones to patch;
- storage quantities compare by bytes, whatever their unit.
"""

from __future__ import annotations

from typing import Any

import pytest
from journal_operator.builders import plan, postgres

from tests.journal_operator import factories

GROWN = {"database": {"managed": {"storage": "20Gi"}}}


def _claim(name: str, storage: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"resources": {"requests": {"storage": storage}}}}


def _statefulset(fields: dict[str, Any], claim: str | None) -> dict[str, Any]:
    groups = plan.desired_children(
        factories.platform(fields),
        secrets=factories.SECRETS,
        version="1.0.0",
        migrate=False,
        inference_mode="deployment",
        database_claim=claim,
    )
    (sts,) = [m for m in plan.flatten(groups) if m["kind"] == "StatefulSet"]
    return sts


def test_new_statefulset_asks_for_storage() -> None:
    assert postgres.claim_template_storage(_statefulset(GROWN, None)) == "20Gi"


def test_existing_statefulset_keeps_its_claim_template() -> None:
    """The template is immutable: applying a larger one would be refused (422) every pass."""
    sts = _statefulset(GROWN, "10Gi")
    assert postgres.claim_template_storage(sts) == "10Gi"


def test_claim_template_storage_of_nothing_is_none() -> None:
    assert postgres.claim_template_storage(None) is None
    assert postgres.claim_template_storage({"spec": {}}) is None


def test_only_smaller_claims_grow() -> None:
    p = factories.platform(GROWN)
    claims = [
        _claim("data-demo-postgres-0", "10Gi"),
        _claim("data-other", "20Gi"),
        _claim("data-bytes", "21474836480"),  # 20Gi in bytes
        _claim("data-bigger", "30Gi"),
    ]
    assert postgres.claims_to_grow(p, claims) == [("data-demo-postgres-0", "10Gi", "20Gi")]


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("10Gi", 10 * 2**30), ("512Mi", 512 * 2**20), ("1Ti", 2**40), ("500M", 5e8), ("1024", 1024)],
)
def test_quantities_compare_in_bytes(quantity: str, expected: float) -> None:
    assert postgres.quantity_bytes(quantity) == expected


def test_an_unknown_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="not a storage quantity"):
        postgres.quantity_bytes("ten gigs")
