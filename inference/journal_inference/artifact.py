"""The served model artifact: a folder with the ONNX graph, the tokenizer and `config.json`.

`make train` writes it (training/export.py); the server and the tests read it here. The config
names every file with its SHA-256, and `load` refuses a folder whose files do not match, so a
half-copied or hand-edited artifact fails at start-up with the file's name instead of serving
wrong answers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from journal_inference import labels

CONFIG_FILE = "config.json"
CARD_FILE = "card.json"
# The committed artifact, shipped inside the package so an installed server finds it.
BUNDLED_ROOT = Path(__file__).resolve().parent / "artifacts"


class ArtifactError(Exception):
    """The artifact folder is missing, incomplete or altered; the message says which file."""


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A loaded `config.json` with resolved paths."""

    root: Path
    name: str
    version: str
    model_file: Path
    tokenizer_file: Path
    max_tokens: int
    embedding_dim: int
    precision: str
    space: labels.LabelSpace
    thresholds: dict[str, npt.NDArray[np.float32]]

    @property
    def emotion_thresholds(self) -> npt.NDArray[np.float32]:
        return self.thresholds["emotion"]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled() -> Path:
    """The newest artifact folder shipped inside the package.

    Raises:
        ArtifactError: the package holds none.
    """
    found = sorted(p.parent for p in BUNDLED_ROOT.glob(f"*/{CONFIG_FILE}"))
    if not found:
        raise ArtifactError(
            f"no model artifact under {BUNDLED_ROOT}; run `make train` or set "
            "JOURNAL_INFERENCE_ARTIFACT_DIR to an artifact folder"
        )
    return found[-1]


def load(root: Path, *, verify: bool = True) -> Artifact:
    """Read and check an artifact folder.

    Args:
        root: the folder holding `config.json`.
        verify: check every file's SHA-256 against the config (skipped only by training,
            which has just written them).

    Raises:
        ArtifactError: missing config or file, or a file whose hash differs.
    """
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ArtifactError(f"{config_path} not found: not a model artifact folder")
    config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
    for name, expected in config["files"].items():
        path = root / name
        if not path.is_file():
            raise ArtifactError(f"{path} is missing from the artifact")
        if verify and sha256_of(path) != expected:
            raise ArtifactError(f"{path} does not match the SHA-256 recorded in {config_path}")
    return Artifact(
        root=root,
        name=config["name"],
        version=config["version"],
        model_file=root / config["model_file"],
        tokenizer_file=root / config["tokenizer_file"],
        max_tokens=int(config["max_tokens"]),
        embedding_dim=int(config["embedding_dim"]),
        precision=config["precision"],
        space=labels.LabelSpace.from_json(config["labels"]),
        thresholds={k: np.asarray(v, dtype=np.float32) for k, v in config["thresholds"].items()},
    )
