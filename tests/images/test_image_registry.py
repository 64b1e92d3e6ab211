"""One registry and one tag for every image, wherever an image reference is made.

`make images` / `make push` take ``REGISTRY`` and ``TAG``; the operator chart runs
``<image.registry>/journal-operator:<appVersion>``; the platform chart passes
``images.registry`` as ``spec.images.registry``, from which the operator makes
``<registry>/journal-api:<version>`` and ``<registry>/journal-inference:<version>``. These tests
keep the defaults equal (a team that mirrors the images changes one value per place it
installs from) and check that changing the one value changes every reference.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from journal_operator import spec as spec_mod

from tests.charts import chart
from tests.support import helm as helm_support

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "crds" / "journalplatforms.journalplatform.io.yaml"


def make_image_names(**variables: str) -> list[str]:
    args = [f"{k}={v}" for k, v in variables.items()]
    out = subprocess.run(
        ["make", "--no-print-directory", "image-names", *args],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return out.split()


def _values(chart_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((chart_dir / "values.yaml").read_text("utf-8"))
    return loaded


def _app_version(chart_dir: Path) -> str:
    return str(yaml.safe_load((chart_dir / "Chart.yaml").read_text("utf-8"))["appVersion"])


def _crd_registry_default() -> str:
    crd = yaml.safe_load(CRD.read_text("utf-8"))
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    return str(props["spec"]["properties"]["images"]["properties"]["registry"]["default"])


def test_every_default_registry_and_tag_agree() -> None:
    registry = _crd_registry_default()
    assert _values(chart.CHART)["image"]["registry"] == registry
    assert _values(chart.PLATFORM_CHART)["images"]["registry"] == registry
    assert spec_mod.Images.model_fields["registry"].default == registry
    version = _app_version(chart.CHART)
    assert _app_version(chart.PLATFORM_CHART) == version
    assert make_image_names() == [
        f"{registry}/journal-{name}:{version}" for name in ("api", "operator", "inference")
    ]
    # The example the README applies asks for the images `make images push` pushes.
    minimal = yaml.safe_load((ROOT / "crds" / "examples" / "minimal.yaml").read_text("utf-8"))
    assert minimal["spec"]["version"] == version


def test_make_takes_registry_and_tag() -> None:
    assert make_image_names(REGISTRY="mirror.example:5000/team", TAG="9.8.7") == [
        "mirror.example:5000/team/journal-api:9.8.7",
        "mirror.example:5000/team/journal-operator:9.8.7",
        "mirror.example:5000/team/journal-inference:9.8.7",
    ]


def _render(helm: helm_support.Helm, chart_dir: Path, tmp: Path, values: dict[str, Any]) -> Any:
    path = tmp / "values.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return helm.template(
        chart_dir, release="journal", namespace="journal-system",
        values_files=[path], kube_version=chart.KUBE_VERSION,
    )  # fmt: skip


def test_one_chart_value_moves_every_image(helm: helm_support.Helm, tmp_path: Path) -> None:
    mirror = "mirror.example:5000/team"
    (deployment,) = chart.of_kind(
        _render(helm, chart.CHART, tmp_path, {"image": {"registry": mirror}}), "Deployment"
    )
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{mirror}/journal-operator:{_app_version(chart.CHART)}"

    (platform,) = _render(
        helm, chart.PLATFORM_CHART, tmp_path, {"images": {"registry": mirror}, "version": "1.2.3"}
    )
    assert platform["spec"]["images"]["registry"] == mirror
    # What the operator makes of it: every application image under the mirror.
    images = spec_mod.Images.model_validate(platform["spec"]["images"]).resolve("1.2.3")
    assert {images.api, images.worker, images.migrations, images.inference} == {
        f"{mirror}/journal-api:1.2.3",
        f"{mirror}/journal-inference:1.2.3",
    }
    # A registry inside spec.images wins over the chart value.
    (explicit,) = _render(
        helm, chart.PLATFORM_CHART, tmp_path,
        {"images": {"registry": mirror}, "spec": {"images": {"registry": "other.example/x"}}},
    )  # fmt: skip
    assert explicit["spec"]["images"]["registry"] == "other.example/x"
