"""The child index: what it keeps of each child, and what an unchanged-resync check reads.

- a cached child decodes back to the slimmed body it was made from, and carries its kind,
  name and resourceVersion without decoding;
- it takes a fraction of the memory of the body as Python objects (the point of packing);
- a pass's inputs change exactly when the owner's or a child's resourceVersion, or a
  generated Secret's, changes.
"""

from __future__ import annotations

import copy
import tracemalloc
from typing import Any

from journal_operator import handlers
from journal_operator.builders import plan

from tests.journal_operator import factories


def _children() -> list[dict[str, Any]]:
    groups = plan.desired_children(
        factories.platform({}),
        secrets=factories.SECRETS,
        version="1.0.0",
        migrate=True,
        inference_mode="kserve",
    )
    found = []
    for i, manifest in enumerate(plan.flatten(groups)):
        manifest["metadata"]["resourceVersion"] = str(100 + i)
        manifest["status"] = {"observedGeneration": 1}
        found.append(manifest)
    return found


def test_cached_child_round_trips_and_knows_its_version() -> None:
    for body in _children():
        cached = handlers.CachedChild.of(body)
        assert cached.body() == body
        assert (cached.kind, cached.name, cached.resource_version) == (
            body["kind"],
            body["metadata"]["name"],
            body["metadata"]["resourceVersion"],
        )


def test_cached_children_take_a_fraction_of_the_memory() -> None:
    bodies = _children()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        as_dicts = [copy.deepcopy(b) for b in bodies for _ in range(20)]
        middle = tracemalloc.get_traced_memory()[0]
        packed = [handlers.CachedChild.of(b) for b in bodies for _ in range(20)]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(as_dicts) == len(packed)
    assert (after - middle) * 4 < (middle - before), (after - middle, middle - before)


class _Body(dict[str, Any]):
    @property
    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = self["metadata"]
        return meta


def test_pass_inputs_change_with_any_version() -> None:
    key = (factories.NAMESPACE, "demo")
    children = _children()
    owner = _Body(metadata={"resourceVersion": "7"})

    def inputs(children: list[dict[str, Any]], secrets: dict[str, str]) -> tuple[Any, ...]:
        indices = {
            "idx_configmaps": {key: [handlers.CachedChild.of(c) for c in children]},
            "idx_secrets": {key: list(secrets.items())},
        }
        return handlers._pass_inputs(owner, indices, key)  # type: ignore[arg-type]

    base = inputs(children, {"demo-jwt": "1"})
    assert inputs(list(reversed(children)), {"demo-jwt": "1"}) == base  # order does not matter
    changed = [dict(c) for c in children]
    changed[0] = {**changed[0], "metadata": {**changed[0]["metadata"], "resourceVersion": "9"}}
    assert inputs(changed, {"demo-jwt": "1"}) != base
    assert inputs(children[1:], {"demo-jwt": "1"}) != base  # a child gone
    assert inputs(children, {"demo-jwt": "2"}) != base
    owner["metadata"] = {"resourceVersion": "8"}
    assert inputs(children, {"demo-jwt": "1"}) != base
