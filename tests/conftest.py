"""Suite-wide configuration: shared fixtures, and end-to-end tests ordered last."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.support.service_fixtures",
    "tests.support.cluster_fixtures",
    "tests.support.operator_fixtures",
    "tests.support.helm_fixtures",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # e2e tests reuse everything the others start; running them last keeps a
    # failure in a unit-level test from hiding behind a slow e2e timeout.
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
