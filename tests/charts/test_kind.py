"""`make kind-up` / `make kind-down` and kind-config.yaml, checked without Docker or kind.

This machine and CI have no container engine, so the target is read with ``make -n``: it
creates the cluster named in kind-config.yaml, builds the three images with the one
REGISTRY/TAG, loads exactly those into the nodes, installs the operator chart with the same
registry and tag, installs the sample platform (hack/kind/platform-values.yaml, a valid
JournalPlatform) with them too, waits for Ready and prints the API URL and a curl — in that
order. The sample values render to a platform the CRD's schema accepts.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import jsonschema
import yaml

from tests.charts import chart
from tests.support import helm as helm_support

ROOT = Path(__file__).resolve().parents[2]


def _make_n(target: str, *variables: str) -> list[str]:
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", target, *variables, "UV=uv"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [line for line in out.replace("\\\n", " ").splitlines() if line.strip()]


def test_kind_config_is_a_kind_cluster() -> None:
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text("utf-8"))
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert {node["role"] for node in config["nodes"]} == {"control-plane", "worker"}
    lines = _make_n("kind-down")
    assert lines == [f"kind delete cluster --name {config['name']}"]


def test_kind_up_builds_loads_installs_and_waits_in_order() -> None:
    registry, tag = "mirror.example:5000/team", "7.7.7"
    lines = _make_n("kind-up", f"REGISTRY={registry}", f"TAG={tag}")
    text = "\n".join(lines)

    def at(pattern: str) -> int:
        found = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert found, f"`make kind-up` never runs {pattern!r}:\n{text}"
        return found[0]

    steps = [
        at(r"kind create cluster --name journal --config kind-config\.yaml"),
        at(r"docker build -f \$c/Dockerfile --build-arg VERSION=7\.7\.7"),
        at(r"kind load docker-image --name journal mirror\.example:5000/team/journal-\$c:7\.7\.7"),
        at(r"create namespace journal --dry-run=client"),
        at(r"upgrade --install journal-operator charts/journal-operator .*"
           r"--set image\.registry=mirror\.example:5000/team --set image\.tag=7\.7\.7"
           r" --set 'watchNamespaces=\{journal\}'"),
        at(r"upgrade --install journal charts/journal-platform .*hack/kind/platform-values\.yaml"
           r" .*--set images\.registry=mirror\.example:5000/team --set version=7\.7\.7"),
        at(r"wait jp/journal --for=condition=Ready"),
        at(r"curl -s http://127\.0\.0\.1:8000/healthz"),
    ]  # fmt: skip
    assert steps == sorted(steps), text
    assert "for c in api operator inference" in text


def test_sample_platform_values_render_a_valid_platform(helm: helm_support.Helm) -> None:
    (platform,) = helm.template(
        chart.PLATFORM_CHART, release="journal", namespace="journal",
        values_files=[ROOT / "hack" / "kind" / "platform-values.yaml"],
        kube_version=chart.KUBE_VERSION,
    )  # fmt: skip
    crd = yaml.safe_load(chart.CRD_SOURCE.read_text(encoding="utf-8"))
    storage = next(v for v in crd["spec"]["versions"] if v["storage"])
    jsonschema.validate(platform, storage["schema"]["openAPIV3Schema"])
    assert platform["metadata"]["name"] == "journal"
    assert platform["spec"]["deletionPolicy"] == "Retain"
