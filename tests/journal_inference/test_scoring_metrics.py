"""The quality metrics the model card reports, checked on small hand-worked cases."""

from __future__ import annotations

import numpy as np
from journal_inference import scoring

Y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=np.float32)
P = np.array([[0.9, 0.2], [0.6, 0.4], [0.2, 0.7], [0.1, 0.1]], dtype=np.float32)


def test_f1_per_label_matches_hand_counts() -> None:
    # label 0 at 0.5: tp 2, fp 0, fn 0 -> 1.0; label 1 at 0.5: tp 1, fp 0, fn 1 -> 2/3
    f1 = scoring.f1_per_label(Y, P >= 0.5)
    assert np.allclose(f1, [1.0, 2 / 3])
    assert scoring.macro_f1(Y, P, 0.5) == np.float64((1.0 + 2 / 3) / 2).item()


def test_label_without_positives_or_predictions_scores_zero() -> None:
    y = np.zeros((3, 1), dtype=np.float32)
    assert scoring.f1_per_label(y, np.zeros((3, 1), dtype=bool)).tolist() == [0.0]


def test_tuned_thresholds_reach_the_best_f1() -> None:
    thresholds = scoring.tune_thresholds(Y, P)
    assert scoring.macro_f1(Y, P, thresholds) == 1.0
    assert thresholds[1] <= 0.4  # label 1 needs its threshold at or below 0.4


def test_cross_fitting_never_scores_better_than_tuning_on_the_same_rows() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((400, 5)) < 0.2).astype(np.float32)
    p = np.clip(y * 0.3 + rng.random((400, 5)) * 0.7, 0, 1).astype(np.float32)
    folds = np.arange(400) % 2
    optimistic = scoring.macro_f1(y, p, scoring.tune_thresholds(y, p))
    assert scoring.cross_fitted_macro_f1(y, p, folds) <= optimistic


def test_top_label_accuracy_counts_any_true_label() -> None:
    assert scoring.top_label_accuracy(Y[:3], P[:3]) == 1.0
