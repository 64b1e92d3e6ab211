"""Reading GoEmotions splits and the UCI sentiment sentences into plain Python rows.

Used by training and by the tests that recompute the model card's metrics; numpy only, no torch.
Both datasets are tab-separated without quoting, so lines are split on the tab, never parsed as
CSV (some texts carry unmatched quotes).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from journal_inference import labels


@dataclasses.dataclass(frozen=True)
class Split:
    """One split: texts, their emotion ids, and multi-hot targets for the three tasks."""

    texts: list[str]
    ids: list[str]
    emotion: npt.NDArray[np.float32]  # [N, 28]
    ekman: npt.NDArray[np.float32]  # [N, 7]
    sentiment: npt.NDArray[np.float32]  # [N, 4]

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: npt.NDArray[np.int64] | list[int]) -> Split:
        idx = np.asarray(index, dtype=np.int64)
        return Split(
            texts=[self.texts[i] for i in idx],
            ids=[self.ids[i] for i in idx],
            emotion=self.emotion[idx],
            ekman=self.ekman[idx],
            sentiment=self.sentiment[idx],
        )


def read_split(path: Path, space: labels.LabelSpace, *, limit: int | None = None) -> Split:
    """Read `train.tsv` or `dev.tsv` (text, comma-separated label ids, comment id).

    Args:
        path: the TSV file.
        space: the label space the ids index into.
        limit: keep only the first `limit` rows (tiny training runs).

    Raises:
        ValueError: a line without three fields or with an unknown label id, naming the line.
    """
    texts: list[str] = []
    ids: list[str] = []
    rows: list[list[int]] = []
    with path.open(encoding="utf-8", newline="\n") as f:
        for n, line in enumerate(f, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise ValueError(f"{path}:{n}: expected 3 tab-separated fields, got {len(fields)}")
            label_ids = [int(x) for x in fields[1].split(",")]
            if not label_ids or any(not 0 <= i < len(space.emotions) for i in label_ids):
                raise ValueError(f"{path}:{n}: label ids out of range: {fields[1]}")
            texts.append(fields[0])
            rows.append(label_ids)
            ids.append(fields[2])
            if limit is not None and len(texts) >= limit:
                break
    return Split(
        texts=texts,
        ids=ids,
        emotion=_multi_hot(rows, len(space.emotions)),
        ekman=_multi_hot([space.ekman_ids(r) for r in rows], len(space.ekman)),
        sentiment=_multi_hot([space.sentiment_ids(r) for r in rows], len(space.sentiment)),
    )


def fold_of(comment_id: str, folds: int = 2) -> int:
    """A stable fold for a comment id (hash-based, so it does not depend on file order)."""
    return int.from_bytes(hashlib.sha256(comment_id.encode()).digest()[:4], "big") % folds


def read_uci_sentences(folder: Path) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Read the three UCI files: sentences and labels (1 positive, 0 negative)."""
    texts: list[str] = []
    ys: list[int] = []
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        # split on LF only: some IMDb sentences contain U+0085, which splitlines() breaks on.
        for line in (folder / name).read_text(encoding="utf-8").split("\n"):
            if not line.strip():
                continue
            text, _, label = line.rpartition("\t")
            texts.append(text.strip())
            ys.append(int(label))
    return texts, np.asarray(ys, dtype=np.int64)


def _multi_hot(rows: list[list[int]], width: int) -> npt.NDArray[np.float32]:
    out = np.zeros((len(rows), width), dtype=np.float32)
    for r, ids in enumerate(rows):
        out[r, ids] = 1.0
    return out
