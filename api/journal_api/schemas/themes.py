"""Response body of `GET /api/v1/insights/themes`: recurring themes of recent entries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field


class Representative(BaseModel):
    id: uuid.UUID
    title: str | None
    excerpt: str = Field(description="The start of the entry, at most 160 characters.")
    entry_date: dt.date
    similarity: float = Field(description="Cosine similarity to the theme's centroid.")


class Theme(BaseModel):
    label: str = Field(description="The theme's three most characteristic terms.")
    terms: list[str] = Field(description="Its most characteristic terms (c-TF-IDF), best first.")
    entries: int
    share: float = Field(description="Of the entries clustered.")
    representatives: list[Representative] = Field(description="Nearest to the centroid.")


class ThemesPublic(BaseModel):
    """Themes found by clustering the embeddings of your most recent analysed entries:
    k-means (k-means++ seeding, fixed seed) on the L2-normalised embeddings for each k
    from 2 up, keeping the k with the best mean silhouette (cosine distance). With fewer
    than `min_entries` entries, or no k whose silhouette reaches `min_silhouette`,
    `status` says so and `themes` is empty."""

    status: Literal["ok", "not_enough_data", "no_clear_themes"]
    message: str
    computed_at: dt.datetime = Field(
        description="When these themes were computed. For the default `entries`, the "
        "worker recomputes them shortly after new analyses are stored."
    )
    entries: int = Field(description="Entries clustered (the most recent analysed ones).")
    max_entries: int
    min_entries: int
    min_silhouette: float
    k: int | None
    silhouette: float | None
    themes: list[Theme] = Field(description="Largest first.")
