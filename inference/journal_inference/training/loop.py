"""The training loop: length-bucketed batches, multi-task loss, dev evaluation per epoch.

Called by training/run.py. Batches are built from texts of similar length so that dynamic padding
keeps CPU work proportional to real tokens (GoEmotions comments are short; padding every batch to
the window would triple the cost). Progress is logged every `log_every` steps with throughput and
the estimated time left.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from journal_inference import goemotions, scoring
from journal_inference.training import config, model

log = logging.getLogger("journal_inference.train")
TASKS = ("emotion", "ekman", "sentiment")


@dataclasses.dataclass
class Batch:
    ids: torch.Tensor
    mask: torch.Tensor
    rows: np.ndarray


def tokenize(tok: PreTrainedTokenizerBase, texts: list[str], max_tokens: int) -> list[list[int]]:
    return list(tok(texts, truncation=True, max_length=max_tokens)["input_ids"])


def collate(token_ids: list[list[int]], rows: np.ndarray) -> Batch:
    width = max(len(token_ids[r]) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(token_ids[r])
        ids[i, :n] = torch.tensor(token_ids[r])
        mask[i, :n] = 1
    return Batch(ids=ids, mask=mask, rows=rows)


def bucketed(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar-length rows (sorted within windows of 50 batches)."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches: list[np.ndarray] = []
    for s in range(0, len(order), window):
        chunk = order[s : s + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def in_order(n: int, lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    order = np.argsort(lengths, kind="stable")
    for s in range(0, n, batch_size):
        yield order[s : s + batch_size]


@torch.inference_mode()
def teacher_embeddings(token_ids: list[list[int]], batch_size: int = 128) -> np.ndarray:
    """The original encoder's normalised mean-pooled vectors (the distillation targets)."""
    encoder = model.load_encoder().eval()
    lengths = np.array([len(t) for t in token_ids])
    out = np.zeros((len(token_ids), encoder.config.hidden_size), dtype=np.float32)
    batches = list(in_order(len(token_ids), lengths, batch_size))
    for i, rows in enumerate(batches, start=1):
        if i % 50 == 0 or i == len(batches):
            log.info("distillation targets: batch %d/%d", i, len(batches))
        b = collate(token_ids, rows)
        h = encoder(
            input_ids=b.ids, attention_mask=b.mask, token_type_ids=torch.zeros_like(b.ids)
        ).last_hidden_state
        out[rows] = nn.functional.normalize(model.mean_pool(h, b.mask), dim=-1).numpy()
    return out


def cached_teacher_embeddings(token_ids: list[list[int]]) -> np.ndarray:
    """`teacher_embeddings`, cached on disk by the exact token ids (a rerun skips the pass)."""
    digest = hashlib.sha256(json.dumps(token_ids).encode())
    digest.update(str(model.encoder_path()).encode())
    path = config.CACHE_DIR / f"teacher-{digest.hexdigest()[:24]}.npy"
    if path.is_file():
        log.info("distillation targets from the cache: %s", path)
        return np.load(path)
    log.info(
        "computing distillation targets for %d texts with the original encoder", len(token_ids)
    )
    out = teacher_embeddings(token_ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


@torch.inference_mode()
def predict(
    net: model.MultiTask, token_ids: list[list[int]], batch_size: int = 128
) -> dict[str, np.ndarray]:
    """Sigmoid probabilities per task and the normalised embedding, rows in input order."""
    net.eval()
    lengths = np.array([len(t) for t in token_ids])
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in (*TASKS, "embedding")}
    for rows in in_order(len(token_ids), lengths, batch_size):
        b = collate(token_ids, rows)
        pooled, *logits = net(b.ids, b.mask)
        parts["embedding"].append((rows, nn.functional.normalize(pooled, dim=-1).numpy()))
        for task, lg in zip(TASKS, logits, strict=True):
            parts[task].append((rows, lg.sigmoid().numpy()))
    out = {}
    for key, chunks in parts.items():
        arr = np.zeros((len(token_ids), chunks[0][1].shape[1]), dtype=np.float32)
        for rows, values in chunks:
            arr[rows] = values
        out[key] = arr
    return out


def pos_weight(targets: np.ndarray) -> torch.Tensor:
    """Class-balanced BCE weights, damped: sqrt of the clipped negative/positive ratio."""
    p = targets.mean(axis=0).clip(1e-4, 1)
    return torch.tensor(np.clip((1 - p) / p, 1, 30) ** 0.5, dtype=torch.float32)


def dev_scores(probs: dict[str, np.ndarray], dev: goemotions.Split) -> dict[str, float]:
    """Macro-F1 per task with thresholds tuned on dev (used to pick the epoch only)."""
    out = {}
    for task in TASKS:
        y = getattr(dev, task)
        out[task] = scoring.macro_f1(y, probs[task], scoring.tune_thresholds(y, probs[task]))
    return out


def train(
    cfg: config.TrainConfig,
    train_split: goemotions.Split,
    dev: goemotions.Split,
    *,
    n_labels: dict[str, int],
) -> tuple[model.MultiTask, list[dict[str, float]]]:
    """Fine-tune encoder and heads; return the best epoch's model (by mean dev macro-F1)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    tok = model.load_tokenizer()
    train_ids = tokenize(tok, train_split.texts, cfg.train_max_tokens)
    dev_ids = tokenize(tok, dev.texts, cfg.train_max_tokens)
    teacher = torch.from_numpy(cached_teacher_embeddings(train_ids))

    net = model.MultiTask(
        model.load_encoder(),
        n_emotion=n_labels["emotion"],
        n_ekman=n_labels["ekman"],
        n_sentiment=n_labels["sentiment"],
        dropout=cfg.dropout,
    )
    heads = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
    optimiser = torch.optim.AdamW(
        [
            {"params": net.encoder.parameters(), "lr": cfg.encoder_lr},
            {"params": heads, "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    lengths = np.array([len(t) for t in train_ids])
    steps_per_epoch = math.ceil(len(train_ids) / cfg.batch_size)
    total = (
        steps_per_epoch * cfg.epochs
        if cfg.max_steps is None
        else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    )
    warmup = max(1, int(total * cfg.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    losses = {
        t: nn.BCEWithLogitsLoss(pos_weight=pos_weight(getattr(train_split, t))) for t in TASKS
    }
    targets = {t: torch.from_numpy(getattr(train_split, t)) for t in TASKS}

    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    step, started, seen = 0, time.monotonic(), 0
    for epoch in range(cfg.epochs):
        net.train()
        for rows in bucketed(lengths, cfg.batch_size, rng):
            if step >= total:
                break
            b = collate(train_ids, rows)
            pooled, *logits = net(b.ids, b.mask)
            loss = sum(losses[t](lg, targets[t][rows]) for t, lg in zip(TASKS, logits, strict=True))
            cos = nn.functional.cosine_similarity(pooled, teacher[rows], dim=-1)
            loss = loss + cfg.distill_weight * (1 - cos).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            step, seen = step + 1, seen + len(rows)
            if step % cfg.log_every == 0 or step == total:
                rate = seen / (time.monotonic() - started)
                eta = (total - step) * cfg.batch_size / rate
                log.info(
                    "epoch %d step %d/%d (%.0f%%) loss %.4f distill-cos %.3f  "
                    "%.0f texts/s  eta %dm%02ds",
                    epoch + 1,
                    step,
                    total,
                    100 * step / total,
                    float(loss.detach()),
                    float(cos.mean()),
                    rate,
                    eta // 60,
                    eta % 60,
                )
        scores = dev_scores(predict(net, dev_ids), dev)
        mean = sum(scores.values()) / len(scores)
        history.append({"epoch": epoch + 1, "steps": step, **scores, "mean": mean})
        log.info(
            "epoch %d dev macro-F1 (thresholds tuned on dev): %s",
            epoch + 1,
            ", ".join(f"{k} {v:.3f}" for k, v in scores.items()),
        )
        if best is None or mean > best[0]:
            best = (mean, copy.deepcopy(net.state_dict()))
        if step >= total:
            break
    assert best is not None
    net.load_state_dict(best[1])
    return net.eval(), history
