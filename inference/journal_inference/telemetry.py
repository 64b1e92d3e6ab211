"""Prometheus collectors of the model server, defined once (beside KServe's own histograms).

KServe registers `request_{preprocess,predict,postprocess}_seconds` per model in the default
registry and serves it on `/metrics`; ours join them there.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE = Histogram(
    "journal_inference_batch_size",
    "Texts per encoder forward pass.",
    buckets=(1, 2, 4, 8, 16, 24, 32, 48, 64, 128, 256),
)
QUEUE_WAIT = Histogram(
    "journal_inference_queue_wait_seconds",
    "Time a request waited for its forward pass to start.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
FORWARD = Histogram(
    "journal_inference_forward_seconds",
    "Duration of one encoder forward pass (tokenisation included).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TEXTS = Counter("journal_inference_texts_total", "Texts analysed, by model name.", ["model"])
TRUNCATED = Counter(
    "journal_inference_truncated_texts_total", "Texts longer than the encoder's window."
)
READY = Gauge("journal_inference_ready", "1 once the artifact is loaded and warmed up.")
