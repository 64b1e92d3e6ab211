"""What the chart tests share: where the chart is, its ci/ scenarios, manifest lookups.

Fixtures that need Helm live in ``conftest.py``; this module has no side effects.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support import helm as helm_support

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "journal-operator"
PLATFORM_CHART = ROOT / "charts" / "journal-platform"
CRD_SOURCE = ROOT / "crds" / "journalplatforms.journalplatform.io.yaml"
# ci/NN-name-values.yaml -> "NN-name"; what `ct lint`/`ct install` would iterate over.
CI_VALUES = {
    path.name.removesuffix("-values.yaml"): path for path in sorted(CHART.glob("ci/*.yaml"))
}
CLUSTER_WIDE = "01-cluster-wide"
SINGLE_NAMESPACE = "02-single-namespace"
NO_CRDS = "03-no-crds"
RELEASE = "journal"
NAMESPACE = "journal-system"
# The newest Kubernetes the project targets, and the oldest the chart allows (CEL).
KUBE_VERSION = "1.35.0"
MIN_KUBE_VERSION = "1.29.0"

Manifest = dict[str, Any]
# The `render_values` fixture: values on top of the defaults -> rendered manifests.
RenderValues = Callable[[Mapping[str, Any]], list[Manifest]]


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    """The manifests of one kind, in render order."""
    return [m for m in manifests if m["kind"] == kind]


def only(manifests: list[Manifest], kind: str) -> Manifest:
    """The one manifest of ``kind``; fails when there are none or several."""
    found = of_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, got {[m['metadata']['name'] for m in found]}"
    return found[0]


def ci_values(name: str) -> dict[str, Any]:
    """The parsed values of one ci/ scenario."""
    loaded: dict[str, Any] = yaml.safe_load(CI_VALUES[name].read_text(encoding="utf-8"))
    return loaded


def crd_group() -> str:
    """The API group of the JournalPlatform CRD in crds/ (the source of truth)."""
    crd = yaml.safe_load(CRD_SOURCE.read_text(encoding="utf-8"))
    group: str = crd["spec"]["group"]
    return group


def container_env(deployment: Manifest) -> dict[str, str]:
    """The operator container's plain ``env`` entries as a name -> value mapping."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def render_notes(helm: helm_support.Helm, tmp_path: Path, values_file: Path) -> str:
    """NOTES.txt as `helm install` would print it, rendered offline.

    `helm template` skips NOTES.txt and `helm install --dry-run` needs a cluster, so a copy of
    the chart renders the same text through `tpl` into an ordinary template.
    """
    copy = tmp_path / "chart"
    shutil.copytree(CHART, copy)
    shutil.copy(copy / "templates" / "NOTES.txt", copy / "notes-under-test.txt")
    (copy / "templates" / "notes-under-test.yaml").write_text(
        'notes: {{ tpl (.Files.Get "notes-under-test.txt") . | toJson }}\n', encoding="utf-8"
    )
    out = helm.run(
        "template",
        RELEASE,
        str(copy),
        "--namespace",
        NAMESPACE,
        "--values",
        str(values_file),
        "--show-only",
        "templates/notes-under-test.yaml",
    ).stdout
    notes: str = yaml.safe_load(out)["notes"]
    return notes


_NOTES_HEREDOC = re.compile(r"kubectl apply -f - <<EOF\n(?P<body>.*?)\nEOF\n", re.DOTALL)


def notes_example(notes: str) -> Manifest:
    """The JournalPlatform in the notes' copy-paste `kubectl apply -f - <<EOF` block."""
    match = _NOTES_HEREDOC.search(notes)
    assert match, f"no `kubectl apply -f - <<EOF` block in:\n{notes}"
    example: Manifest = yaml.safe_load(match["body"])
    return example
