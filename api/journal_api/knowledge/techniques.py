"""The knowledge base of reflection and coping techniques, and its loader.

`techniques.json` (next to this module) is versioned data: each technique has a description in
our own words, the emotions and situations it helps with (in the analysis' vocabulary), 3-6
steps, an evidence level with a one-line justification, and a citation to published work.
`catalog()` validates it with the models below on first use and keeps it for the process;
nothing is read at import time. Bump `version` whenever a text changes: cached technique
embeddings are keyed by it (`vectors.VectorCache`). Read by `services/suggestions.py`.
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from journal_api.schemas import analysis as vocabulary

DATA_FILE = "techniques.json"
MIN_TECHNIQUES = 40

Slug = str


class HelpsWith(BaseModel):
    """When a technique tends to help, in the analysis' vocabulary plus plain-word situations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ekman: tuple[vocabulary.Ekman, ...] = Field(min_length=1)
    emotions: tuple[vocabulary.Emotion, ...] = Field(
        min_length=1, description="GoEmotions labels, the ones it fits best first."
    )
    sentiment: tuple[vocabulary.Sentiment, ...] = Field(min_length=1)
    situations: tuple[str, ...] = Field(min_length=1)


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Literal["strong", "moderate", "emerging"]
    justification: str = Field(min_length=20, max_length=200)


class Citation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    authors: str = Field(min_length=3)
    year: int = Field(ge=1900, le=2100)
    title: str = Field(min_length=3)
    venue: str = Field(min_length=3, description="Journal with volume and pages, or publisher.")

    def text(self) -> str:
        """APA-like one-line reference."""
        return f"{self.authors} ({self.year}). {self.title}. {self.venue}."


class Technique(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
    title: str = Field(min_length=3, max_length=80)
    description: str = Field(min_length=80, max_length=700)
    helps_with: HelpsWith
    steps: tuple[str, ...] = Field(min_length=3, max_length=6)
    evidence: Evidence
    citation: Citation

    def embedding_text(self) -> str:
        """What is embedded for semantic matching: title, description and when it helps."""
        helps = self.helps_with
        feelings = ", ".join(
            dict.fromkeys(e for e in (*helps.emotions, *helps.ekman) if e != "neutral")
        )
        return (
            f"{self.title}. {self.description} "
            f"Helps with: {', '.join(helps.situations)}. Feelings: {feelings}."
        )


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    techniques: tuple[Technique, ...] = Field(min_length=MIN_TECHNIQUES)

    @field_validator("techniques")
    @classmethod
    def _unique_ids(cls, techniques: tuple[Technique, ...]) -> tuple[Technique, ...]:
        ids = [t.id for t in techniques]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate technique ids: {', '.join(duplicates)}")
        return techniques

    def embedding_texts(self) -> list[str]:
        return [t.embedding_text() for t in self.techniques]


def parse(raw: str | bytes) -> Catalog:
    """Validate a knowledge-base document (raises `pydantic.ValidationError`)."""
    return Catalog.model_validate_json(raw)


@functools.cache
def catalog() -> Catalog:
    """The shipped knowledge base, read and validated once per process."""
    return parse(importlib.resources.files(__package__).joinpath(DATA_FILE).read_bytes())
