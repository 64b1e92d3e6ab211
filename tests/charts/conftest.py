"""Fixtures for the chart tests: a Helm binary (or a skip that says why) and rendered scenarios."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts import chart
from tests.support import helm as helm_support


@pytest.fixture(scope="session")
def rendered(helm: helm_support.Helm) -> dict[str, list[chart.Manifest]]:
    """Every ci/ scenario, rendered once per session: scenario name -> manifests."""
    return {
        name: helm.template(
            chart.CHART,
            release=chart.RELEASE,
            namespace=chart.NAMESPACE,
            values_files=[path],
            kube_version=chart.KUBE_VERSION,
        )
        for name, path in chart.CI_VALUES.items()
    }


@pytest.fixture
def render_values(helm: helm_support.Helm, tmp_path: Path) -> chart.RenderValues:
    """Render the chart with the given values on top of the defaults."""

    def render(values: Mapping[str, Any]) -> list[chart.Manifest]:
        values_file = tmp_path / "values.yaml"
        values_file.write_text(yaml.safe_dump(dict(values)), encoding="utf-8")
        return helm.template(
            chart.CHART,
            release=chart.RELEASE,
            namespace=chart.NAMESPACE,
            values_files=[values_file],
            kube_version=chart.KUBE_VERSION,
        )

    return render
