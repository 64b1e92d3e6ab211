"""One encoder pass for every output: ONNX Runtime over the artifact's graph, numpy after it.

`Analyzer.run(texts)` tokenizes, runs the graph once and returns the embedding and the three
heads' probabilities; `Analysis` turns those into labels. The model server, the training
evaluation and the tests all go through here, so what is measured is what is served.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from journal_inference import artifact as artifacts

FloatArray = npt.NDArray[np.float32]
# Graph output names; "embedding" alone would collide with the exporter's node names.
OUTPUT_NAMES = ("sentence_embedding", "emotion_probs", "ekman_probs", "sentiment_probs")


@dataclasses.dataclass(frozen=True)
class Analysis:
    """Outputs for N texts, rows in input order."""

    embedding: FloatArray  # [N, 384], L2-normalised
    emotion: FloatArray  # [N, 28] probabilities
    ekman: FloatArray  # [N, 7]
    sentiment: FloatArray  # [N, 4]
    truncated: npt.NDArray[np.bool_]  # [N] text longer than the encoder's window

    def __len__(self) -> int:
        return int(self.embedding.shape[0])

    def rows(self, start: int, stop: int) -> Analysis:
        return Analysis(
            embedding=self.embedding[start:stop],
            emotion=self.emotion[start:stop],
            ekman=self.ekman[start:stop],
            sentiment=self.sentiment[start:stop],
            truncated=self.truncated[start:stop],
        )

    @property
    def polarity(self) -> FloatArray:
        """P(positive) - P(negative), in [-1, 1]."""
        return (self.sentiment[:, 0] - self.sentiment[:, 1]).astype(np.float32)


class Analyzer:
    """Tokenizer plus ONNX Runtime session for one artifact. Thread-safe for `run`."""

    def __init__(self, art: artifacts.Artifact, *, threads: int) -> None:
        self.artifact = art
        self.tokenizer = Tokenizer.from_file(str(art.tokenizer_file))
        self.tokenizer.enable_truncation(max_length=art.max_tokens)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(art.model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def run(self, texts: list[str]) -> Analysis:
        """Analyse texts in one forward pass (padded to the longest)."""
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        outputs = self.session.run(list(OUTPUT_NAMES), {"input_ids": ids, "attention_mask": mask})
        embedding, emotion, ekman, sentiment = (np.asarray(o, dtype=np.float32) for o in outputs)
        return Analysis(
            embedding=embedding,
            emotion=emotion,
            ekman=ekman,
            sentiment=sentiment,
            truncated=np.array([bool(e.overflowing) for e in encodings], dtype=bool),
        )

    def run_batched(self, texts: list[str], *, batch_size: int = 64) -> Analysis:
        """Analyse many texts in length-sorted batches (evaluation; less padding)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = [
            self.run([texts[i] for i in order[s : s + batch_size]])
            for s in range(0, len(order), batch_size)
        ]
        inverse = np.argsort(np.asarray(order))
        return Analysis(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])[inverse]
                for f in dataclasses.fields(Analysis)
            }
        )


def labels_above(art: artifacts.Artifact, emotion: FloatArray) -> list[list[str]]:
    """Per row, the emotion names at or above their tuned thresholds, strongest first."""
    names = art.space.emotions
    out = []
    for row in emotion:
        hits = np.flatnonzero(row >= art.emotion_thresholds)
        out.append([names[i] for i in hits[np.argsort(-row[hits])]])
    return out


def top(names: tuple[str, ...], probs: FloatArray) -> list[str]:
    """Per row, the name of the highest-probability column."""
    return [names[i] for i in probs.argmax(axis=1)]
