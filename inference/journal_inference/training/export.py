"""Export the trained network to ONNX, quantise it, and check the graph against torch.

The dynamo exporter is used on purpose: the TorchScript exporter (`dynamo=False`) silently
produces wrong outputs for this model with transformers 5.x. Every export is compared with the
torch model it came from, and a mismatch stops the run instead of shipping a wrong graph.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from journal_inference import runtime
from journal_inference.training import loop, model

log = logging.getLogger("journal_inference.train")
MIN_EXPORT_COSINE = 0.99


def to_onnx(net: model.MultiTask, path: Path) -> None:
    """Write the served graph (fp32, weights inside the file) with dynamic batch and length."""
    wrapper = model.Exported(net).eval()
    tok = model.load_tokenizer()
    sample = tok(
        ["an example", "a somewhat longer example sentence for tracing the graph"],
        padding=True,
        return_tensors="pt",
    )
    batch = torch.export.Dim("batch", max=1024)
    seq = torch.export.Dim("seq", max=512)
    program = torch.onnx.export(
        wrapper,
        (sample["input_ids"], sample["attention_mask"]),
        dynamo=True,
        input_names=["input_ids", "attention_mask"],
        output_names=list(runtime.OUTPUT_NAMES),
        dynamic_shapes=({0: batch, 1: seq}, {0: batch, 1: seq}),
        external_data=False,
    )
    assert program is not None
    program.save(str(path), external_data=False)


def quantize(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantisation of the weights (activations stay float)."""
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)


def compare_with_torch(
    net: model.MultiTask, analyzer: runtime.Analyzer, texts: list[str]
) -> dict[str, float]:
    """Embedding cosine and largest probability difference between torch and the ONNX graph.

    Raises:
        RuntimeError: the graph disagrees with torch (a broken export).
    """
    tok = model.load_tokenizer()
    torch_out = loop.predict(net, loop.tokenize(tok, texts, analyzer.artifact.max_tokens))
    onnx_out = analyzer.run_batched(texts)
    cos = (torch_out["embedding"] * onnx_out.embedding).sum(axis=1)
    diff = max(float(np.abs(torch_out[t] - getattr(onnx_out, t)).max()) for t in loop.TASKS)
    result = {"texts": len(texts), "min_cosine": float(cos.min()), "max_probability_diff": diff}
    log.info(
        "ONNX vs torch on %d texts: min embedding cosine %.5f, max probability diff %.2e",
        len(texts),
        result["min_cosine"],
        diff,
    )
    if result["min_cosine"] < MIN_EXPORT_COSINE or diff > 0.01:
        raise RuntimeError(f"the ONNX export disagrees with torch: {result}")
    return result
