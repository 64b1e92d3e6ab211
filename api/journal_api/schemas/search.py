"""Response bodies of `GET /api/v1/search` (ranked entries with highlighted snippets) and
`GET /api/v1/entries/{id}/similar` (an entry's nearest neighbours)."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from journal_api.schemas import entry

MatchedBy = Literal["fulltext", "semantic"]


class SearchMode(enum.StrEnum):
    # Words (with stemming and typo tolerance).
    FULLTEXT = "fulltext"
    # Meaning: the query's embedding against the entries' (needs the model server).
    SEMANTIC = "semantic"
    # Both, fused by reciprocal rank; full-text only (degraded) without the model server.
    HYBRID = "hybrid"


class SearchHit(BaseModel):
    entry: entry.EntryPublic
    score: float = Field(
        description="Higher is more relevant; comparable within one response. fulltext: "
        "text rank; semantic: cosine similarity; hybrid: reciprocal-rank-fusion score."
    )
    highlight: str = Field(
        description="HTML, safe to render: fragments of the entry, its text escaped "
        "(`<` as `&lt;`, `&` as `&amp;`, quotes too), with matching words wrapped in "
        "<mark>…</mark>, the only markup; the entry's opening words (escaped) when only its "
        "meaning matched."
    )
    matched_by: list[MatchedBy] = Field(
        description="The rankings that found this entry: fulltext, semantic or both."
    )


class SearchResults(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mode": "hybrid",
                    "degraded": False,
                    "degraded_reason": None,
                    "items": [
                        {
                            "entry": entry.ENTRY_EXAMPLE,
                            "score": 0.0325,
                            "highlight": "Walked by the <mark>river</mark> before work.",
                            "matched_by": ["fulltext", "semantic"],
                        }
                    ],
                }
            ]
        }
    )

    mode: SearchMode
    degraded: bool = Field(
        default=False,
        description="True when part of the requested search could not run (hybrid without "
        "the model server: full-text results only).",
    )
    degraded_reason: str | None = Field(default=None, description="Why, when degraded.")
    items: list[SearchHit]


class SimilarEntry(BaseModel):
    entry: entry.EntryPublic
    similarity: float = Field(description="Cosine similarity of the two entries' embeddings.")


class SimilarEntries(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [{"entry": entry.ENTRY_EXAMPLE, "similarity": 0.71}]}]
        }
    )

    items: list[SimilarEntry]
