"""Search policy: full-text, semantic and hybrid (reciprocal rank fusion) over one user's entries.

- `fulltext`: PostgreSQL full-text search with typo tolerance (`repositories/search.py`).
- `semantic`: the query is embedded by the model server's `embedding` model and the
  user's analysed entries are ranked by cosine similarity (`repositories/semantic.py`).
  No model server (unset, down, or its breaker open) raises `SemanticUnavailable`.
- `hybrid`: both rankings, `2 * limit` candidates each, fused by reciprocal rank fusion
  (score = sum of 1 / (60 + rank) over the lists an entry is in; Cormack et al. 2009):
  a document ranked well by both beats one ranked first by only one. Every hit names the
  lists it came from. Without a model server it falls back to the full-text list and
  says so (`degraded_reason`) rather than failing.

Called by `routes/search.py`.
"""

from __future__ import annotations

import dataclasses
import html
import uuid

from journal_api import settings as settings_module
from journal_api.clients import inference
from journal_api.models import entry as entry_model
from journal_api.repositories import search as search_repo
from journal_api.repositories import semantic as semantic_repo
from journal_api.schemas import search as search_schema
from sqlalchemy.ext.asyncio import AsyncSession

RRF_K = 60
FULLTEXT, SEMANTIC = "fulltext", "semantic"
# Words of a semantic-only hit shown as its highlight (nothing to mark in it).
EXCERPT_WORDS = 30
NO_SERVER = "no model server is configured (JOURNAL_API_INFERENCE_URL)"
# How soon to ask again when no server is configured at all.
NO_SERVER_RETRY_SECONDS = 60.0


class SemanticUnavailable(Exception):  # noqa: N818 (a state, not a mistake)
    """The query cannot be embedded now; ``retry_after`` seconds is a fair wait."""

    def __init__(self, reason: str, *, retry_after: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class QueryRejected(Exception):  # noqa: N818 (named after the HTTP meaning)
    """The model server refused the query text (its reason is the message)."""


@dataclasses.dataclass(frozen=True)
class Hit:
    entry: entry_model.Entry
    score: float
    highlight: str
    matched_by: list[str]


@dataclasses.dataclass(frozen=True)
class Outcome:
    hits: list[Hit]
    degraded_reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Query:
    """What to look for, and for whom."""

    user_id: uuid.UUID
    text: str
    language: str
    limit: int


async def search(
    session: AsyncSession,
    client: inference.InferenceClient | None,
    settings: settings_module.Settings,
    *,
    mode: search_schema.SearchMode,
    query: Query,
) -> Outcome:
    """Run ``query`` in ``mode``.

    Raises:
        SemanticUnavailable: `semantic` mode and no model server answers.
        QueryRejected: the model server refused the query text.
    """
    if mode is search_schema.SearchMode.FULLTEXT:
        return Outcome(await _fulltext(session, query, limit=query.limit))
    if mode is search_schema.SearchMode.SEMANTIC:
        return Outcome(await _semantic(session, client, settings, query, limit=query.limit))
    candidates = 2 * query.limit
    fulltext = await _fulltext(session, query, limit=candidates)
    try:
        semantic = await _semantic(session, client, settings, query, limit=candidates)
    except SemanticUnavailable as exc:
        fused = fuse({FULLTEXT: fulltext}, limit=query.limit)
        return Outcome(fused, degraded_reason=f"full-text results only: {exc.reason}")
    return Outcome(fuse({FULLTEXT: fulltext, SEMANTIC: semantic}, limit=query.limit))


def fuse(rankings: dict[str, list[Hit]], *, limit: int) -> list[Hit]:
    """Reciprocal rank fusion of ``rankings`` (name -> hits, best first).

    Ties are broken by the best single rank, then by entry id, so the order is stable.
    An entry's highlight is taken from the first list (in ``rankings`` order) holding it.
    """
    scores: dict[uuid.UUID, float] = {}
    best_rank: dict[uuid.UUID, int] = {}
    sources: dict[uuid.UUID, list[str]] = {}
    first: dict[uuid.UUID, Hit] = {}
    for name, hits in rankings.items():
        for rank, hit in enumerate(hits, start=1):
            key = hit.entry.id
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            best_rank[key] = min(best_rank.get(key, rank), rank)
            sources.setdefault(key, []).append(name)
            first.setdefault(key, hit)
    order = sorted(scores, key=lambda key: (-scores[key], best_rank[key], str(key)))
    return [
        Hit(first[key].entry, scores[key], first[key].highlight, sources[key])
        for key in order[:limit]
    ]


async def _fulltext(session: AsyncSession, query: Query, *, limit: int) -> list[Hit]:
    hits = await search_repo.fulltext(
        session, user_id=query.user_id, query=query.text, language=query.language, limit=limit
    )
    return [Hit(hit.entry, hit.score, hit.highlight, [FULLTEXT]) for hit in hits]


async def _semantic(
    session: AsyncSession,
    client: inference.InferenceClient | None,
    settings: settings_module.Settings,
    query: Query,
    *,
    limit: int,
) -> list[Hit]:
    if client is None:
        raise SemanticUnavailable(NO_SERVER, retry_after=NO_SERVER_RETRY_SECONDS)
    try:
        [vector] = await client.embed([query.text])
    except inference.InferenceUnavailable as exc:
        raise SemanticUnavailable(
            "the model server is unavailable", retry_after=exc.retry_after
        ) from exc
    except inference.InferenceRejected as exc:
        raise QueryRejected(exc.reason) from exc
    except inference.InferenceError as exc:
        raise SemanticUnavailable(
            "the model server failed", retry_after=settings.inference_breaker_reset_seconds
        ) from exc
    neighbours = await semantic_repo.nearest(
        session,
        user_id=query.user_id,
        embedding=vector,
        limit=limit,
        ef_search=settings.search_ef_search,
    )
    return [Hit(n.entry, n.similarity, excerpt(n.entry), [SEMANTIC]) for n in neighbours]


def excerpt(entry: entry_model.Entry) -> str:
    """The opening words of an entry (title first), for a hit with nothing to mark;
    HTML-escaped, like every highlight."""
    text = f"{entry.title} — {entry.content}" if entry.title else entry.content
    words = text.split()
    opening = " ".join(words[:EXCERPT_WORDS]) + (" …" if len(words) > EXCERPT_WORDS else "")
    return html.escape(opening, quote=True)
