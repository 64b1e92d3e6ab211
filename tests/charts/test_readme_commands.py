"""The Helm commands README.md gives platform teams render, with the values they set.

Every ``helm install``, ``helm upgrade`` and ``helm template`` of our two charts in the README's
``bash`` blocks is rendered with its own ``--set`` and ``-f`` arguments (``--reuse-values``
upgrades on top of the install before them): a value the chart does not have fails on the
chart's ``values.schema.json``, and a JournalPlatform the CRD's schema would refuse fails here
too. So a renamed value or a typo in the README breaks a test, not a team's first install.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.charts import chart
from tests.support import helm as helm_support

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CHARTS = {"charts/journal-operator": chart.CHART, "charts/journal-platform": chart.PLATFORM_CHART}
# Flags of helm install/upgrade/template that take a value (the rest are switches).
VALUE_FLAGS = {"-n", "--namespace", "--kube-context", "--kubeconfig", "--timeout", "--version"}
FILE_FLAGS = {"-f", "--values"}


@dataclass
class HelmCommand:
    """One README helm command on one of our charts."""

    text: str
    release: str
    chart: Path
    sets: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    reuse_values: bool = False


def bash_commands(markdown: str) -> list[str]:
    """The commands of every ```bash block, continuation lines joined, comments dropped."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" # ")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def parse(command: str) -> HelmCommand | None:
    """The helm command on one of our charts in ``command`` (before any pipe), or None."""
    words = shlex.split(command.split(" | ")[0])
    if words[:2] not in (["helm", "install"], ["helm", "upgrade"], ["helm", "template"]):
        return None
    positional: list[str] = []
    sets: list[str] = []
    files: list[Path] = []
    reuse = False
    rest = iter(words[2:])
    for word in rest:
        if word == "--set":
            sets.append(next(rest))
        elif word in FILE_FLAGS:
            files.append(ROOT / next(rest))
        elif word in VALUE_FLAGS:
            next(rest)
        elif word == "--reuse-values":
            reuse = True
        elif not word.startswith("-"):
            positional.append(word)
    release, chart_path = positional[:2]
    if chart_path not in CHARTS:
        return None
    return HelmCommand(command, release, CHARTS[chart_path], sets, files, reuse)


def readme_commands() -> list[HelmCommand]:
    found = [parse(c) for c in bash_commands(README.read_text("utf-8"))]
    return [c for c in found if c is not None]


def test_the_readme_installs_upgrades_and_monitors_with_helm() -> None:
    commands = readme_commands()
    assert {c.chart for c in commands} == set(CHARTS.values())
    assert any(c.reuse_values for c in commands), "no upgrade found in the README"
    assert any(any(s.startswith("monitoring.") for s in c.sets) for c in commands)


def test_a_value_the_chart_lacks_is_caught(helm: helm_support.Helm) -> None:
    # The check has teeth: the schema refuses a key the chart does not have.
    result = helm.run(
        "template", "x", str(chart.CHART), "--set", "monitoring.prometheusRules.enabled=true",
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "prometheusRules" in result.stderr


@pytest.mark.parametrize("index", range(len(readme_commands())))
def test_readme_helm_command_renders(helm: helm_support.Helm, index: int) -> None:
    commands = readme_commands()
    command = commands[index]
    sets = list(command.sets)
    files = list(command.files)
    if command.reuse_values:
        # --reuse-values: what the last install of that release and chart set, then this.
        install = next(
            c for c in reversed(commands[:index])
            if c.release == command.release and c.chart == command.chart and not c.reuse_values
        )  # fmt: skip
        sets, files = install.sets + sets, install.files + files
    args = ["template", command.release, str(command.chart), "--namespace", "readme"]
    args += [a for s in sets for a in ("--set", s)]
    args += [a for f in files for a in ("--values", str(f))]
    result = helm.run(*args, "--kube-version", chart.KUBE_VERSION, check=False)
    assert result.returncode == 0, f"{command.text}\n{result.stderr}"
    manifests = [m for m in yaml.safe_load_all(result.stdout) if m]
    crd = yaml.safe_load(chart.CRD_SOURCE.read_text(encoding="utf-8"))
    storage = next(v for v in crd["spec"]["versions"] if v["storage"])
    for platform in chart.of_kind(manifests, "JournalPlatform"):
        jsonschema.validate(platform, storage["schema"]["openAPIV3Schema"])
