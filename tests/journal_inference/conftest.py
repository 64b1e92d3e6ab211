"""Shared data for the inference tests: the wire contract's names, and request helpers."""

from __future__ import annotations

from typing import Any

import httpx

# The contract: columns of `scores` in the order of GoEmotions' emotions.txt.
EMOTIONS = (
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
)
EKMAN = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
SENTIMENT = ("positive", "negative", "ambiguous", "neutral")
TEXTS = [
    "I finally finished the project and I feel so proud of myself.",
    "My dog died this morning and I can't stop crying.",
    "Why does the landlord keep ignoring my messages? This is infuriating.",
]


def v2_body(texts: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "inputs": [{"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}],
        **extra,
    }


def infer(url: str, model: str, texts: list[str], **extra: Any) -> dict[str, Any]:
    r = httpx.post(f"{url}/v2/models/{model}/infer", json=v2_body(texts, **extra), timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def outputs(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in body["outputs"]}
