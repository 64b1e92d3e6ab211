"""Makes the cluster fixtures available to tests/cluster even when the root conftest does not
list ``tests.support.cluster_fixtures`` in ``pytest_plugins`` yet (a no-op once it does)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("tests.support.cluster_fixtures")
