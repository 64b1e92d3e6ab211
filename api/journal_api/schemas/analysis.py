"""An entry's analysis as the API shows it, and the label vocabularies of the model.

The vocabularies are the model server's (`inference/README.md`): the 28 GoEmotions
labels in the order of GoEmotions' `emotions.txt` (the column order of `scores` and of
the stored `emotion_scores`), the Ekman groups, and the sentiment labels. Used by the
entry schemas, the list filters and the inference client.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

Emotion = Literal[
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
]  # fmt: skip
EMOTIONS: tuple[str, ...] = get_args(Emotion)
Ekman = Literal["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
Sentiment = Literal["positive", "negative", "ambiguous", "neutral"]

ANALYSIS_EXAMPLE: dict[str, Any] = {
    "status": "done",
    "failure_reason": None,
    "ekman": "joy",
    "emotions": ["joy", "optimism"],
    "emotion_scores": {"joy": 0.81, "optimism": 0.64, "neutral": 0.12},
    "sentiment": "positive",
    "polarity": 0.87,
    "truncated": False,
    "model_name": "analyzer",
    "model_version": "1.0.0",
    "analyzed_at": "2026-11-20T07:45:14.012345Z",
}


class EntryAnalysisPublic(BaseModel):
    """What the model found in an entry; `status` is `failed` when it could not tell."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [ANALYSIS_EXAMPLE]}
    )

    status: Literal["done", "failed"]
    failure_reason: str | None = Field(description="Why the analysis failed; null when done.")
    ekman: Ekman | None = Field(description="The strongest of Ekman's six emotions, or neutral.")
    emotions: list[Emotion] = Field(
        validation_alias=AliasChoices("emotion_labels", "emotions"),
        description="GoEmotions labels above their tuned thresholds, strongest first.",
    )
    emotion_scores: dict[Emotion, float] = Field(
        description="Probability of each of the 28 GoEmotions labels (empty when failed)."
    )
    sentiment: Sentiment | None
    polarity: float | None = Field(description="P(positive) - P(negative), in [-1, 1].")
    truncated: bool = Field(description="The text was longer than the model reads.")
    model_name: str | None
    model_version: str | None
    analyzed_at: dt.datetime | None

    @field_validator("emotions", mode="before")
    @classmethod
    def _no_labels(cls, value: object) -> object:
        return [] if value is None else value

    @field_validator("emotion_scores", mode="before")
    @classmethod
    def _scores_by_label(cls, value: object) -> object:
        # Stored as a float4[] in EMOTIONS order; shown keyed by label.
        if value is None:
            return {}
        if isinstance(value, list | tuple):
            return dict(zip(EMOTIONS, value, strict=True))
        return value
