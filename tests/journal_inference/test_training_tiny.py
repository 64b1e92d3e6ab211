"""`make train` on a tiny sample (300 rows, one step), so the training command cannot rot.

Runs in the training environment (hack/train-env.sh: torch CPU, transformers), writes a full
artifact with its card, and that artifact is then served by a real model server. The export
step compares the ONNX graph with torch (embedding cosine ≥ 0.99) and fails the run otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from journal_inference import artifact

from tests import skips
from tests.journal_inference.conftest import infer, outputs
from tests.support.inference import InferenceServer

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def train_python() -> Path:
    result = subprocess.run(
        ["bash", str(ROOT / "hack" / "train-env.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode == 3:
        pytest.skip(f"{skips.TORCH_UNAVAILABLE}: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture(scope="module")
def tiny_artifact(train_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (DATASETS / "goemotions" / "train.tsv").is_file():
        pytest.skip(f"{skips.GOEMOTIONS_ABSENT} {DATASETS / 'goemotions'}")
    out_root = tmp_path_factory.mktemp("artifacts")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "inference"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    result = subprocess.run(
        [
            str(train_python),
            "-m",
            "journal_inference",
            "train",
            "--limit",
            "300",
            "--max-steps",
            "1",
            "--epochs",
            "1",
            "--version",
            "0.0.0-test",
            "--out-root",
            str(out_root),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "step 1/1" in result.stderr  # progress is shown
    return out_root / "journal-analyzer-0.0.0-test"


def test_tiny_training_writes_a_complete_verified_artifact(tiny_artifact: Path) -> None:
    loaded = artifact.load(tiny_artifact)
    assert loaded.version == "0.0.0-test"
    card = json.loads((tiny_artifact / "card.json").read_text())
    assert card["data"]["train_rows"] == 300
    assert card["settings"]["max_steps"] == 1
    # The ONNX graph agrees with the torch model it was exported from.
    assert card["export_check"]["min_cosine"] >= 0.99
    assert card["export_check"]["max_probability_diff"] < 0.01
    assert (tiny_artifact / "MODEL_CARD.md").read_text().startswith("# Model card")


@pytest.fixture(scope="module")
def tiny_server(tiny_artifact: Path) -> Iterator[InferenceServer]:
    server = InferenceServer(
        tiny_artifact.parent / "server.log",
        env={"JOURNAL_INFERENCE_ARTIFACT_DIR": str(tiny_artifact)},
    )
    server.start()
    yield server
    server.stop()


def test_a_freshly_trained_artifact_is_served(tiny_server: InferenceServer) -> None:
    body = infer(tiny_server.url, "analyzer", ["a freshly trained model answers"])
    assert body["model_version"] == "0.0.0-test"
    assert len(outputs(body)["embedding"]["data"]) == 384
