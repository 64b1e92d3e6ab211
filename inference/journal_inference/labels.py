"""The label spaces the models predict, read from the GoEmotions files or from an artifact.

Training builds a `LabelSpace` from the dataset folder (`emotions.txt`, `ekman_mapping.json`,
`sentiment_dict.json`) and writes it into the artifact's `config.json`; the server reads it back
from there, so the served label names and column orders are exactly the trained ones.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

NEUTRAL = "neutral"
# Fixed output orders: the wire contract documents them, and heads are trained in them.
EKMAN_ORDER = ("anger", "disgust", "fear", "joy", "sadness", "surprise", NEUTRAL)
SENTIMENT_ORDER = ("positive", "negative", "ambiguous", NEUTRAL)


@dataclasses.dataclass(frozen=True)
class LabelSpace:
    """The 28 emotions (in `emotions.txt` order) and their Ekman and sentiment groupings."""

    emotions: tuple[str, ...]
    ekman_of: dict[str, str]
    sentiment_of: dict[str, str]
    ekman: tuple[str, ...] = EKMAN_ORDER
    sentiment: tuple[str, ...] = SENTIMENT_ORDER

    def ekman_ids(self, emotion_ids: list[int]) -> list[int]:
        """Ekman group indexes of a row's emotion ids (the union, as in the paper)."""
        return sorted({self.ekman.index(self.ekman_of[self.emotions[i]]) for i in emotion_ids})

    def sentiment_ids(self, emotion_ids: list[int]) -> list[int]:
        """Sentiment group indexes of a row's emotion ids (the union, as in the paper)."""
        groups = {self.sentiment_of[self.emotions[i]] for i in emotion_ids}
        return sorted(self.sentiment.index(g) for g in groups)

    def to_json(self) -> dict[str, Any]:
        return {
            "emotions": list(self.emotions),
            "ekman": list(self.ekman),
            "sentiment": list(self.sentiment),
            "ekman_of": self.ekman_of,
            "sentiment_of": self.sentiment_of,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabelSpace:
        return cls(
            emotions=tuple(data["emotions"]),
            ekman=tuple(data["ekman"]),
            sentiment=tuple(data["sentiment"]),
            ekman_of=dict(data["ekman_of"]),
            sentiment_of=dict(data["sentiment_of"]),
        )

    @classmethod
    def from_dataset(cls, folder: Path) -> LabelSpace:
        """Read the label files of a GoEmotions folder.

        Raises:
            ValueError: a mapping leaves an emotion out or names an unknown one.
        """
        emotions = tuple((folder / "emotions.txt").read_text(encoding="utf-8").split())
        ekman_of = _invert(json.loads((folder / "ekman_mapping.json").read_text("utf-8")))
        sentiment_of = _invert(json.loads((folder / "sentiment_dict.json").read_text("utf-8")))
        for name, mapping, order in (
            ("ekman_mapping.json", ekman_of, EKMAN_ORDER),
            ("sentiment_dict.json", sentiment_of, SENTIMENT_ORDER),
        ):
            mapping[NEUTRAL] = NEUTRAL
            if set(mapping) != set(emotions) or not set(mapping.values()) <= set(order):
                raise ValueError(f"{name} does not map exactly the emotions in emotions.txt")
        return cls(emotions=emotions, ekman_of=ekman_of, sentiment_of=sentiment_of)


def _invert(groups: dict[str, list[str]]) -> dict[str, str]:
    return {member: group for group, members in groups.items() for member in members}
