"""Quality metrics for multi-label heads: per-label F1, macro-F1, threshold tuning.

numpy only, so the tests can recompute the model card's numbers from the served ONNX model
without torch. Thresholds tuned on the same rows they are scored on are optimistic, so the card
reports cross-fitted scores: thresholds tuned on one half of dev, scored on the other, and back.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
# Candidate thresholds: fine near the low end, where rare labels' best thresholds sit.
THRESHOLD_GRID: npt.NDArray[np.float64] = np.round(np.arange(0.02, 0.96, 0.01), 2)


def f1_per_label(y_true: FloatArray, y_pred: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """F1 of each column; a label with no positives and no predictions scores 0 (sklearn's)."""
    truth = y_true.astype(bool)
    tp = (truth & y_pred).sum(axis=0).astype(np.float64)
    fp = (~truth & y_pred).sum(axis=0)
    fn = (truth & ~y_pred).sum(axis=0)
    denom = 2 * tp + fp + fn
    f1: npt.NDArray[np.float64] = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return f1


def macro_f1(y_true: FloatArray, probs: FloatArray, thresholds: npt.ArrayLike) -> float:
    """Macro-averaged F1 with one threshold per column (or one for all)."""
    return float(f1_per_label(y_true, probs >= np.asarray(thresholds)).mean())


def tune_thresholds(y_true: FloatArray, probs: FloatArray) -> npt.NDArray[np.float64]:
    """The grid threshold that maximises each column's F1 (ties: the lowest threshold)."""
    scores = np.stack([f1_per_label(y_true, probs >= t) for t in THRESHOLD_GRID])  # [T, L]
    return np.asarray(THRESHOLD_GRID[scores.argmax(axis=0)], dtype=np.float64)


def cross_fitted_macro_f1(
    y_true: FloatArray, probs: FloatArray, folds: npt.NDArray[np.int64]
) -> float:
    """Macro-F1 where each fold is scored with thresholds tuned on the other folds.

    Predictions of all folds are pooled before the F1 is computed, so rare labels are scored on
    the whole split rather than averaged over noisy halves.
    """
    pred = np.zeros_like(probs, dtype=bool)
    for k in np.unique(folds):
        held = folds == k
        thresholds = tune_thresholds(y_true[~held], probs[~held])
        pred[held] = probs[held] >= thresholds
    return float(f1_per_label(y_true, pred).mean())


def top_label_accuracy(y_true: FloatArray, probs: FloatArray) -> float:
    """Share of rows whose highest-scoring label is one of their true labels."""
    top = probs.argmax(axis=1)
    return float(y_true[np.arange(len(top)), top].mean())
