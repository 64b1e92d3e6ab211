"""The committed artifact: complete, small enough to commit, and its model card's dev metrics
recomputed here from the served ONNX graph (no torch), so the card cannot drift from the model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from journal_inference import artifact, goemotions, runtime, scoring

from tests import skips
from tests.journal_inference.conftest import EKMAN, EMOTIONS, SENTIMENT

ROOT = Path(__file__).resolve().parents[2]
GOEMOTIONS = Path(
    os.environ.get("JOURNAL_GOEMOTIONS_DIR", ROOT.parent / "shared" / "datasets" / "goemotions")
)
MAX_ARTIFACT_BYTES = 60 * 1024 * 1024


@pytest.fixture(scope="module")
def served() -> artifact.Artifact:
    return artifact.load(artifact.bundled())


@pytest.fixture(scope="module")
def card(served: artifact.Artifact) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((served.root / artifact.CARD_FILE).read_text())
    return data


def test_artifact_is_complete_and_under_the_size_limit(served: artifact.Artifact) -> None:
    names = {p.name for p in served.root.iterdir()}
    assert {"model.onnx", "tokenizer.json", "config.json", "card.json", "MODEL_CARD.md"} <= names
    assert sum(p.stat().st_size for p in served.root.iterdir()) < MAX_ARTIFACT_BYTES
    assert served.space.emotions == EMOTIONS
    assert served.space.ekman == EKMAN
    assert served.space.sentiment == SENTIMENT


def test_card_records_hashes_of_the_served_files(
    served: artifact.Artifact, card: dict[str, Any]
) -> None:
    for name, digest in card["files"].items():
        assert artifact.sha256_of(served.root / name) == digest, name


def test_card_states_what_a_user_needs(card: dict[str, Any]) -> None:
    for key in (
        "data",
        "settings",
        "encoder",
        "metrics",
        "reference",
        "ood",
        "latency",
        "quantization",
        "embedding",
        "export_check",
        "training",
    ):
        assert key in card, key
    assert card["data"]["license"]
    assert set(card["metrics"]["emotion"]["per_label"]) == set(EMOTIONS)
    assert card["export_check"]["min_cosine"] >= 0.99
    markdown = (Path(artifact.bundled()) / "MODEL_CARD.md").read_text()
    assert "BERT-base" in markdown
    assert "Per-label F1" in markdown


@pytest.mark.slow
def test_dev_metrics_recomputed_from_the_served_graph_match_the_card(
    served: artifact.Artifact, card: dict[str, Any]
) -> None:
    if not (GOEMOTIONS / "dev.tsv").is_file():
        pytest.skip(f"{skips.GOEMOTIONS_ABSENT} {GOEMOTIONS} (../shared/datasets)")
    dev = goemotions.read_split(
        GOEMOTIONS / "dev.tsv", served.space, limit=card["settings"]["limit"]
    )
    assert len(dev) == card["data"]["dev_rows"]
    out = runtime.Analyzer(served, threads=len(os.sched_getaffinity(0))).run_batched(dev.texts)
    folds = np.array([goemotions.fold_of(i) for i in dev.ids], dtype=np.int64)
    for task in ("emotion", "ekman", "sentiment"):
        y, p = getattr(dev, task), getattr(out, task)
        recorded = card["metrics"][task]
        assert scoring.cross_fitted_macro_f1(y, p, folds) == pytest.approx(
            recorded["macro_f1"], abs=0.003
        ), task
        assert scoring.macro_f1(y, p, served.thresholds[task]) == pytest.approx(
            recorded["macro_f1_served_thresholds"], abs=0.003
        ), task
