"""Crisis language: the curated exemplars, contrast sentences and phrase rules the safety screen
uses, and the labelled sentences it is evaluated on.

`crisis_language.json` holds first-person exemplars of self-harm or suicidal intent (written by
us), everyday sentences that merely sound alike ("this deadline is killing me") as a contrast
set, case-insensitive word-boundary rules, and the similarity threshold tuned on the
development split of `crisis_eval.json` (see `evaluate_safety.py`). Both files are validated on
first use and kept for the process. Read by `services/safety.py` and `evaluate_safety.py`.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LANGUAGE_FILE = "crisis_language.json"
EVALUATION_FILE = "crisis_eval.json"


class Sentence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z]+-[0-9]{2,3}$")
    text: str = Field(min_length=3, max_length=200)


class Rule(BaseModel):
    """A phrase rule: matched case-insensitively anywhere in the text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z]+(-[a-z]+)*$")
    pattern: str = Field(min_length=3)
    meaning: str = Field(min_length=3, description="What the rule is looking for, in words.")

    @field_validator("pattern")
    @classmethod
    def _word_bounded_regex(cls, pattern: str) -> str:
        # A rule anchored on a word boundary never fires inside another word ("skill").
        if not pattern.startswith(r"\b"):
            raise ValueError(r"a rule's pattern must start with \b (a word boundary)")
        re.compile(pattern)
        return pattern

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)


class CrisisLanguage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    threshold: float = Field(
        ge=-1,
        le=1,
        description="Flag a sentence when its best exemplar similarity exceeds its best "
        "contrast similarity by at least this much.",
    )
    tuned_on: str = Field(description="Which data and embedding model the threshold was tuned on.")
    exemplars: tuple[Sentence, ...] = Field(min_length=30)
    contrast: tuple[Sentence, ...] = Field(min_length=30)
    rules: tuple[Rule, ...] = Field(min_length=10)

    @field_validator("exemplars", "contrast", "rules")
    @classmethod
    def _unique_ids(cls, items: tuple[Sentence | Rule, ...]) -> tuple[Sentence | Rule, ...]:
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be unique")
        return items


Split = Literal["development", "holdout"]


class LabelledSentence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=3)
    crisis: bool
    kind: str = Field(description="explicit/indirect/self-harm for positives; idiom/… otherwise")
    split: Split


class EvaluationSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    sentences: tuple[LabelledSentence, ...] = Field(min_length=200)


def _read(name: str) -> bytes:
    return importlib.resources.files(__package__).joinpath(name).read_bytes()


@functools.cache
def language() -> CrisisLanguage:
    """The shipped crisis language, validated once per process."""
    return CrisisLanguage.model_validate_json(_read(LANGUAGE_FILE))


@functools.cache
def evaluation_set() -> EvaluationSet:
    """The labelled sentences `python -m journal_api safety-eval` scores."""
    return EvaluationSet.model_validate_json(_read(EVALUATION_FILE))
