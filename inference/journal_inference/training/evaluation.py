"""Numbers for the model card, computed on the served ONNX graph (what users get).

Called by training/run.py after export. Everything here works on numpy outputs of
`runtime.Analyzer`, so the tests can recompute the same numbers from the committed artifact.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from journal_inference import goemotions, labels, runtime, scoring

TASKS = ("emotion", "ekman", "sentiment")
# Demszky et al. (2020), Table 4/6: BERT-base macro-F1 on the GoEmotions test split.
BERT_BASE = {"emotion": 0.46, "ekman": 0.64, "sentiment": 0.69}
# Logistic-regression heads on the frozen encoder, measured on this project's machines.
FROZEN_BASELINE = {"emotion": 0.38, "ekman": 0.52, "sentiment": 0.59}


def task_metrics(
    out: runtime.Analysis,
    dev: goemotions.Split,
    space: labels.LabelSpace,
    thresholds: dict[str, np.ndarray],
) -> dict[str, dict[str, object]]:
    """Per task: cross-fitted and served-threshold macro-F1, top-label accuracy, per label."""
    folds = np.array([goemotions.fold_of(i) for i in dev.ids], dtype=np.int64)
    names = {"emotion": space.emotions, "ekman": space.ekman, "sentiment": space.sentiment}
    result: dict[str, dict[str, object]] = {}
    for task in TASKS:
        y, p = getattr(dev, task), getattr(out, task)
        per_label = scoring.f1_per_label(y, p >= thresholds[task])
        result[task] = {
            "macro_f1": round(scoring.cross_fitted_macro_f1(y, p, folds), 4),
            "macro_f1_served_thresholds": round(scoring.macro_f1(y, p, thresholds[task]), 4),
            "macro_f1_threshold_0_5": round(scoring.macro_f1(y, p, 0.5), 4),
            "top_label_accuracy": round(scoring.top_label_accuracy(y, p), 4),
            "per_label": {
                name: {"f1": round(float(f), 4), "threshold": float(t), "support": int(s)}
                for name, f, t, s in zip(
                    names[task], per_label, thresholds[task], y.sum(axis=0), strict=True
                )
            },
        }
    return result


def uci_accuracy(analyzer: runtime.Analyzer, texts: list[str], ys: np.ndarray) -> dict[str, float]:
    """Out-of-domain sentiment: the sign of the polarity against UCI's positive/negative."""
    pred = (analyzer.run_batched(texts).polarity >= 0).astype(np.int64)
    per_source = {}
    for i, source in enumerate(("amazon", "imdb", "yelp")):
        sl = slice(i * 1000, (i + 1) * 1000)
        per_source[source] = round(float((pred[sl] == ys[sl]).mean()), 4)
    return {"accuracy": round(float((pred == ys).mean()), 4), **per_source}


def neighbour_recall(
    reference: np.ndarray, candidate: np.ndarray, *, k: int = 10, queries: int = 500
) -> float:
    """Mean overlap of the k nearest neighbours (exact cosine) under two embeddings."""
    n = min(queries, len(reference))
    overlap = []
    for q in range(n):
        a = reference @ reference[q]
        b = candidate @ candidate[q]
        a[q] = b[q] = -np.inf
        top_a = set(np.argpartition(-a, k)[:k].tolist())
        top_b = set(np.argpartition(-b, k)[:k].tolist())
        overlap.append(len(top_a & top_b) / k)
    return round(float(np.mean(overlap)), 4)


def latency(analyzer: runtime.Analyzer, texts: list[str]) -> dict[str, float]:
    """Single-text latency (p50/p95) and batch-32 throughput on the training machine."""
    single = []
    for t in texts[:100]:
        s = time.perf_counter()
        analyzer.run([t])
        single.append((time.perf_counter() - s) * 1000)
    s = time.perf_counter()
    batch_texts = texts[:512]
    for i in range(0, len(batch_texts), 32):
        analyzer.run(batch_texts[i : i + 32])
    rate = len(batch_texts) / (time.perf_counter() - s)
    q = statistics.quantiles(single, n=20)
    return {
        "batch1_p50_ms": round(statistics.median(single), 2),
        "batch1_p95_ms": round(q[18], 2),
        "batch32_texts_per_s": round(rate, 1),
    }
