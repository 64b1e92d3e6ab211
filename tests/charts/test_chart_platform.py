"""The journal-platform chart: one JournalPlatform from values.

Aspects: it lints; what it renders is valid against the CRD's schema from crds/; the name
defaults to the release and `version` to appVersion, and `version` wins over a version
inside `spec`; spec passes through unchanged; the schema refuses a non-semantic version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.charts import chart
from tests.support import helm as helm_support

RELEASE = "demo"
NAMESPACE = "team-a"


def _render(helm: helm_support.Helm, tmp_path: Path, values: dict[str, Any]) -> chart.Manifest:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    manifests = helm.template(
        chart.PLATFORM_CHART, release=RELEASE, namespace=NAMESPACE, values_files=[values_file],
        kube_version=chart.KUBE_VERSION,
    )  # fmt: skip
    return chart.only(manifests, "JournalPlatform")


def _crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(chart.CRD_SOURCE.read_text(encoding="utf-8"))
    storage = next(v for v in crd["spec"]["versions"] if v["storage"])
    schema: dict[str, Any] = storage["schema"]["openAPIV3Schema"]
    return schema


def _app_version() -> str:
    meta = yaml.safe_load((chart.PLATFORM_CHART / "Chart.yaml").read_text(encoding="utf-8"))
    version: str = meta["appVersion"]
    return version


def test_platform_chart_lints(helm: helm_support.Helm) -> None:
    result = helm.run(
        "lint", "--strict", str(chart.PLATFORM_CHART), "--kube-version", chart.KUBE_VERSION,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_defaults_render_a_valid_platform_named_after_the_release(
    helm: helm_support.Helm, tmp_path: Path
) -> None:
    platform = _render(helm, tmp_path, {})
    jsonschema.validate(platform, _crd_schema())
    assert platform["apiVersion"] == f"{chart.crd_group()}/v1alpha1"
    assert platform["metadata"]["name"] == RELEASE
    assert platform["metadata"]["namespace"] == NAMESPACE
    # The chart's images.registry (tests/images/test_image_registry.py) is always passed.
    registry = {"registry": "ghcr.io/journal-platform"}
    assert platform["spec"] == {"version": _app_version(), "images": registry}


def test_spec_passes_through_and_version_value_wins(
    helm: helm_support.Helm, tmp_path: Path
) -> None:
    spec = {"version": "0.0.1", "api": {"replicas": 3}, "deletionPolicy": "Delete"}
    platform = _render(helm, tmp_path, {"name": "prod", "version": "1.2.3", "spec": spec})
    jsonschema.validate(platform, _crd_schema())
    assert platform["metadata"]["name"] == "prod"
    registry = {"registry": "ghcr.io/journal-platform"}
    assert platform["spec"] == {**spec, "version": "1.2.3", "images": registry}


def test_schema_refuses_a_version_that_is_not_semantic(
    helm: helm_support.Helm, tmp_path: Path
) -> None:
    values_file = tmp_path / "values.yaml"
    values_file.write_text("version: latest\n", encoding="utf-8")
    result = helm.run(
        "template", RELEASE, str(chart.PLATFORM_CHART), "--values", str(values_file), check=False
    )
    assert result.returncode != 0
    assert "version" in result.stderr
