"""Response body of `GET /api/v1/search`: ranked entries with highlighted snippets."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from journal_api.schemas import entry


class SearchMode(enum.StrEnum):
    FULLTEXT = "fulltext"
    # Answered 501 until the inference work brings embeddings.
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


class SearchHit(BaseModel):
    entry: entry.EntryPublic
    score: float = Field(description="Higher is more relevant; comparable within one response.")
    highlight: str = Field(
        description="Fragments of the entry with matching words wrapped in <mark>…</mark>."
    )


class SearchResults(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "entry": entry.ENTRY_EXAMPLE,
                            "score": 0.42,
                            "highlight": "Walked by the <mark>river</mark> before work.",
                        }
                    ]
                }
            ]
        }
    )

    items: list[SearchHit]
