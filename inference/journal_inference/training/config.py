"""Training settings: one frozen dataclass, filled from `python -m journal_inference train` flags.

Defaults are the settings the committed artifact was trained with; the model card records them.
The dataset folders default to `../shared/datasets/` beside the repository and can be pointed
elsewhere with flags or `JOURNAL_GOEMOTIONS_DIR` / `JOURNAL_UCI_SENTIMENT_DIR`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from journal_inference import artifact

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
# Outside the clone, like every other build output: reruns reuse the distillation targets.
CACHE_DIR = (
    Path(
        os.environ.get("JOURNAL_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "journal-platform"
    )
    / "train-cache"
)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    goemotions_dir: Path
    uci_dir: Path
    out_root: Path
    version: str = "1.0.0"
    name: str = "journal-analyzer"
    seed: int = 0
    epochs: int = 1
    batch_size: int = 32
    encoder_lr: float = 8e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    dropout: float = 0.1
    # GoEmotions comments are short (median ~12 words): 64 tokens covers nearly all of them.
    train_max_tokens: int = 64
    # Served window: all-MiniLM-L6-v2 was trained with 256-token inputs.
    serve_max_tokens: int = 256
    # Weight of the cosine loss that keeps the fine-tuned mean-pooled vector close to the
    # original all-MiniLM-L6-v2 embedding, so the same pass still serves semantic search.
    distill_weight: float = 5.0
    limit: int | None = None
    max_steps: int | None = None
    threads: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    # int8 is served only when it costs less than this in any task's macro-F1.
    int8_tolerance: float = 0.01
    log_every: int = 50

    @property
    def out_dir(self) -> Path:
        return self.out_root / f"{self.name}-{self.version}"

    def public(self) -> dict[str, object]:
        """Settings for the model card (paths relative where they can be)."""
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.name if isinstance(value, Path) else value
        return out


def parse(argv: list[str]) -> TrainConfig:
    """Parse `train` flags into a TrainConfig."""
    d = TrainConfig(goemotions_dir=Path(), uci_dir=Path(), out_root=Path())
    p = argparse.ArgumentParser(prog="python -m journal_inference train")
    p.add_argument(
        "--goemotions-dir",
        type=Path,
        default=Path(os.environ.get("JOURNAL_GOEMOTIONS_DIR", SHARED_DATASETS / "goemotions")),
    )
    p.add_argument(
        "--uci-dir",
        type=Path,
        default=Path(
            os.environ.get(
                "JOURNAL_UCI_SENTIMENT_DIR", SHARED_DATASETS / "uci-sentiment-labelled-sentences"
            )
        ),
    )
    p.add_argument(
        "--out-root",
        type=Path,
        default=artifact.BUNDLED_ROOT,
        help="artifacts are written to OUT_ROOT/NAME-VERSION (default: the package's)",
    )
    p.add_argument("--version", default=d.version)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--encoder-lr", type=float, default=d.encoder_lr)
    p.add_argument("--distill-weight", type=float, default=d.distill_weight)
    p.add_argument(
        "--limit", type=int, default=None, help="use only the first N rows of each split"
    )
    p.add_argument("--max-steps", type=int, default=None, help="stop after N optimiser steps")
    p.add_argument("--threads", type=int, default=d.threads)
    a = p.parse_args(argv)
    for flag, folder in (("--goemotions-dir", a.goemotions_dir), ("--uci-dir", a.uci_dir)):
        if not folder.is_dir():
            p.error(
                f"{flag} {folder} is not a folder: point it at the dataset "
                "(it ships in ../shared/datasets/ beside the repository)"
            )
    return TrainConfig(
        goemotions_dir=a.goemotions_dir,
        uci_dir=a.uci_dir,
        out_root=a.out_root,
        version=a.version,
        seed=a.seed,
        epochs=a.epochs,
        batch_size=a.batch_size,
        encoder_lr=a.encoder_lr,
        distill_weight=a.distill_weight,
        limit=a.limit,
        max_steps=a.max_steps,
        threads=a.threads,
    )
