"""The chart's CRD template: generated from crds/, gated by crds.create, kept on uninstall.

Aspects: the committed template equals what `hack/sync_crds.py` generates from crds/ (so
editing crds/ without `make crds` fails here); the rendered CRD is the crds/ object plus
the chart's labels and keep annotation; crds.create=false renders no CRD; crds.keep=false
drops the annotation; the generator notices drift, orphans and Helm-looking text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from hack import sync_crds
from tests.charts import chart

KEEP = {"helm.sh/resource-policy": "keep"}


def test_chart_crd_template_matches_crds_folder() -> None:
    problems = sync_crds.differences(sync_crds.SOURCE_DIR, sync_crds.TEMPLATE_DIR)
    assert not problems, "; ".join(problems) + " (run `make crds`)"


def test_rendered_crd_is_the_source_crd_with_keep_annotation(
    rendered: dict[str, list[chart.Manifest]],
) -> None:
    source = yaml.safe_load(chart.CRD_SOURCE.read_text(encoding="utf-8"))
    crd = chart.only(rendered[chart.CLUSTER_WIDE], "CustomResourceDefinition")
    assert crd["spec"] == source["spec"]
    assert crd["metadata"]["name"] == source["metadata"]["name"]
    assert crd["metadata"]["annotations"] == KEEP
    assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_no_crds_scenario_renders_no_crd(rendered: dict[str, list[chart.Manifest]]) -> None:
    assert not chart.of_kind(rendered[chart.NO_CRDS], "CustomResourceDefinition")


def test_crd_without_keep_is_deleted_with_the_release(render_values: chart.RenderValues) -> None:
    crd = chart.only(render_values({"crds": {"keep": False}}), "CustomResourceDefinition")
    assert "helm.sh/resource-policy" not in (crd["metadata"].get("annotations") or {})


def _copy_sources(tmp_path: Path) -> tuple[Path, Path]:
    source_dir = tmp_path / "crds"
    template_dir = tmp_path / "templates"
    source_dir.mkdir()
    shutil.copy(chart.CRD_SOURCE, source_dir)
    sync_crds.sync(source_dir, template_dir)
    return source_dir, template_dir


def test_editing_crds_without_sync_is_reported_as_drift(tmp_path: Path) -> None:
    source_dir, template_dir = _copy_sources(tmp_path)
    assert sync_crds.differences(source_dir, template_dir) == []
    source = source_dir / chart.CRD_SOURCE.name
    source.write_text(
        source.read_text(encoding="utf-8").replace("served: true", "served: false", 1),
        encoding="utf-8",
    )
    assert sync_crds.differences(source_dir, template_dir)


def test_template_of_a_removed_crd_is_reported_then_removed(tmp_path: Path) -> None:
    source_dir, template_dir = _copy_sources(tmp_path)
    (source_dir / chart.CRD_SOURCE.name).unlink()
    assert sync_crds.differences(source_dir, template_dir)
    sync_crds.sync(source_dir, template_dir)
    assert list(template_dir.iterdir()) == []


def test_helm_delimiters_in_the_crd_are_escaped() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.io"},
        "spec": {"names": {"plural": "things"}, "description": "use {{ braces }}"},
    }
    text = sync_crds.render_template(Path("crds/things.yaml"), crd)
    assert '{{ "{{" }} braces }}' in text
