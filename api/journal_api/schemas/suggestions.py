"""Response bodies of the suggestion routes: techniques matched to an entry or a period, or,
when an entry reads as a crisis, a supportive message with crisis resources instead.

Wording rule: a suggestion describes how the *writing* reads ("reads as sadness"), never the
person; no clinical labels, no diagnosis.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EvidenceLevel = Literal["strong", "moderate", "emerging"]


class CrisisResource(BaseModel):
    name: str
    description: str
    phone: str | None = None
    text: str | None = Field(default=None, description="A number to text, or how to text.")
    url: str | None = None


class Support(BaseModel):
    """Shown instead of suggestions when an entry reads as self-harm or suicidal intent."""

    message: str
    country: str | None = Field(
        description="The country the resources are for; null for the worldwide fallback."
    )
    emergency_number: str | None
    resources: list[CrisisResource]
    resources_version: str


class Evidence(BaseModel):
    level: EvidenceLevel
    justification: str


class Suggestion(BaseModel):
    technique_id: str
    title: str
    description: str
    steps: list[str]
    evidence: Evidence
    citation: str = Field(description="The published work the technique rests on.")
    reason: str = Field(description="Why it was matched, in words.")
    score: float = Field(ge=0, le=1, description="Match strength; only the order is meaningful.")
    matched_emotions: list[str]
    similarity: float | None = Field(
        description="Cosine similarity of the writing and the technique; null without embedding."
    )


class SuggestionsPublic(BaseModel):
    """Either `suggestions` (kind `suggestions`) or `support` (kind `support`), never both."""

    kind: Literal["suggestions", "support"]
    suggestions: list[Suggestion]
    support: Support | None = None
    knowledge_version: str
    days: int | None = Field(default=None, description="The period, for period suggestions.")
    entries: int = Field(description="How many analysed entries the suggestions rest on.")
