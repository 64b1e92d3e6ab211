"""`GET /api/v1/search`: ranked full-text search over one's own entries.

`mode=fulltext` is PostgreSQL full-text search with typo tolerance (see
`repositories/search.py`); `semantic` and `hybrid` need embeddings from the inference
service and answer 501 until it exists. Results are served read-through from the
per-user cache (`services/user_cache.py`), invalidated by every entry write; a word the
background prune later drops from the typo vocabulary can still steer corrections in a
cached result for at most `cache_ttl_seconds`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from journal_api import deps, errors
from journal_api.clients import gate
from journal_api.repositories import search as search_repo
from journal_api.schemas import entry as entry_schema
from journal_api.schemas import search as schemas
from journal_api.schemas import text
from journal_api.services import user_cache

router = APIRouter(prefix="/api/v1/search", tags=["search"])

MAX_QUERY_CHARS = 500
DEFAULT_HITS, MAX_HITS = 10, 50
JSON = "application/json"

SearchText = Annotated[
    str,
    Query(min_length=1, max_length=MAX_QUERY_CHARS, description="The words to look for."),
    AfterValidator(text.reject_nul),
    AfterValidator(text.reject_blank),
]


@router.get("", response_model=schemas.SearchResults, responses=errors.responses(401, 501))
async def search_entries(
    q: SearchText,
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    mode: schemas.SearchMode = schemas.SearchMode.FULLTEXT,
    limit: Annotated[int, Query(ge=1, le=MAX_HITS)] = DEFAULT_HITS,
    language: entry_schema.Language = entry_schema.DEFAULT_LANGUAGE,
) -> Response:
    """Your entries that contain every word of `q` (a misspelt word also matches the
    similar words you have written), most relevant first, with `<mark>`ed snippets.
    `language` picks the stemming and stop words used for `q`."""
    if mode is not schemas.SearchMode.FULLTEXT:
        raise errors.NotImplementedYet(
            f"mode={mode.value} needs the inference service; use mode=fulltext"
        )
    # Results are cached per user like lists: any entry write bumps the generation.
    cached = await user_cache.lookup(
        cache,
        metrics,
        user_id=user.id,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
    )
    if cached.body is not None:
        return Response(cached.body, media_type=JSON)
    async with deps.open_session(request) as session:
        hits = await search_repo.fulltext(
            session, user_id=user.id, query=q, language=language, limit=limit
        )
        results = schemas.SearchResults(
            items=[
                schemas.SearchHit(
                    entry=entry_schema.EntryPublic.model_validate(hit.entry),
                    score=hit.score,
                    highlight=hit.highlight,
                )
                for hit in hits
            ]
        )
    body = results.model_dump_json().encode()
    await user_cache.store(cache, cached, body=body, ttl=settings.cache_ttl_seconds)
    return Response(body, media_type=JSON)
