"""The model card: `card.json` for machines and `MODEL_CARD.md` for people, from one dict."""

from __future__ import annotations

from typing import Any

from journal_inference.training import evaluation

DATA = {
    "dataset": "GoEmotions (simplified split), Demszky et al., ACL 2020",
    "source": "google-research/google-research, goemotions/data",
    "license": "Apache-2.0 (as published upstream; some third parties describe it as CC BY 4.0)",
    "citation": "Demszky, Movshovitz-Attias, Ko, Cowen, Nemade, Ravi. 2020. GoEmotions: A Dataset "
    "of Fine-Grained Emotions. ACL 2020, 4040-4054. https://aclanthology.org/2020.acl-main.372",
    "ood_dataset": "UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015), positive/negative",
}


def render(card: dict[str, Any]) -> str:
    """MODEL_CARD.md text for a card dict."""
    m = card["metrics"]
    lines = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        "Emotion (28 GoEmotions labels), Ekman emotion (7), sentiment (4 + polarity) and a 384-d",
        "sentence embedding from one pass of a fine-tuned all-MiniLM-L6-v2, served with ONNX",
        f"Runtime ({card['served_precision']}). Trained by `make train` "
        f"(`python -m journal_inference train`) in {card['training']['seconds'] / 60:.1f} min on "
        f"{card['environment']['threads']} CPU threads.",
        "",
        "## Quality on GoEmotions dev (served graph)",
        "",
        "Macro-F1, multi-label, per-label thresholds. **Cross-fitted**: thresholds tuned on one",
        "half of dev and scored on the other, and back (honest); the served thresholds are tuned",
        "on all of dev, so the score at them is optimistic. BERT-base is the paper's test-split",
        "figure; dev and test are comparable but not identical.",
        "",
        "| task | macro-F1 (cross-fitted) | at served thresholds | at 0.5 | top-label acc. "
        "| BERT-base (paper) | frozen MiniLM + LR | goal met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task in evaluation.TASKS:
        t = m[task]
        ref = evaluation.BERT_BASE[task]
        lines.append(
            f"| {task} | {t['macro_f1']:.3f} | {t['macro_f1_served_thresholds']:.3f} | "
            f"{t['macro_f1_threshold_0_5']:.3f} | {t['top_label_accuracy']:.3f} | {ref:.2f} | "
            f"{evaluation.FROZEN_BASELINE[task]:.2f} | {'yes' if t['macro_f1'] >= ref else 'no'} |"
        )
    q = card["quantization"]
    e = card["embedding"]
    lines += [
        "",
        "## Precision, embedding and out-of-domain checks",
        "",
        f"- Served precision: **{card['served_precision']}**. "
        "int8 minus fp32 cross-fitted macro-F1: "
        + ", ".join(f"{k} {v:+.4f}" for k, v in q["macro_f1_delta"].items())
        + f" (int8 is served when every change is under {q['tolerance']}).",
        f"- int8 vs fp32 embedding cosine: mean {q['embedding_cosine_mean']:.4f}, "
        f"min {q['embedding_cosine_min']:.4f}; "
        f"nearest-10 overlap {q['neighbour_recall_at_10']:.3f}.",
        "- Served embedding vs the original all-MiniLM-L6-v2: cosine mean "
        f"{e['cosine_to_original_mean']:.3f} (min {e['cosine_to_original_min']:.3f}); "
        f"nearest-10 overlap {e['neighbour_recall_at_10_vs_original']:.3f}"
        " (the distillation loss keeps the search space close to the original).",
        "- ONNX export vs torch (fp32): min embedding cosine "
        f"{card['export_check']['min_cosine']:.5f}, "
        f"max probability difference {card['export_check']['max_probability_diff']:.1e}.",
        "- Out-of-domain sentiment (UCI, sign of polarity): accuracy "
        f"{card['ood']['accuracy']:.3f} (amazon {card['ood']['amazon']:.3f}, "
        f"imdb {card['ood']['imdb']:.3f}, yelp {card['ood']['yelp']:.3f}).",
        f"- Latency ({card['environment']['threads']} threads, training machine): batch-1 p50 "
        f"{card['latency']['batch1_p50_ms']} ms, p95 {card['latency']['batch1_p95_ms']} ms; "
        f"batch-32 {card['latency']['batch32_texts_per_s']} texts/s.",
        "",
        "## Per-label F1 (emotion, served thresholds)",
        "",
        "| label | F1 | threshold | dev support |",
        "|---|---|---|---|",
    ]
    for name, v in m["emotion"]["per_label"].items():
        lines.append(f"| {name} | {v['f1']:.3f} | {v['threshold']:.2f} | {v['support']} |")
    s = card["settings"]
    lines += [
        "",
        "## Training",
        "",
        f"- Encoder: {card['encoder']['model']} from the `{card['encoder']['package']}` package "
        f"{card['encoder']['package_version']} "
        f"({card['encoder']['parameters'] / 1e6:.1f}M parameters), "
        "fully fine-tuned.",
        "- Heads: a shared GELU layer over [CLS] and the mean (768→384), then linear emotion (28),"
        " Ekman (7) and sentiment (4)"
        " heads; multi-task BCE with damped class-balanced positive weights, plus a cosine"
        f" distillation loss (weight {s['distill_weight']}) to the original embedding.",
        f"- Data: {card['data']['train_rows']} train rows, {card['data']['dev_rows']} dev rows; "
        f"{s['epochs']} epochs, batch {s['batch_size']}, AdamW (encoder lr {s['encoder_lr']}, "
        f"heads {s['head_lr']}), warm-up {s['warmup']}, seed {s['seed']}, best epoch by dev.",
        "- Epochs: "
        + "; ".join(
            f"{h['epoch']}: " + ", ".join(f"{t} {h[t]:.3f}" for t in evaluation.TASKS)
            for h in card["training"]["history"]
        ),
        f"- Environment: torch {card['environment']['torch']}, transformers "
        f"{card['environment']['transformers']}, onnxruntime {card['environment']['onnxruntime']}.",
        "",
        "## Data and licence",
        "",
        f"- {DATA['dataset']}; {DATA['license']}.",
        f"- Cite: {DATA['citation']}",
        "- Known biases (upstream): Reddit's user base, English only, raters from India;"
        " rare labels (grief, pride, relief, nervousness) have under 200 training examples.",
        "- Not a clinical instrument: these scores describe language, never a person's health.",
        "",
        "## Files",
        "",
    ]
    lines += [f"- `{name}` sha256 `{digest}`" for name, digest in card["files"].items()]
    return "\n".join(lines) + "\n"
