"""`GET /api/v1/search`: ranked search over one's own entries, by words, meaning or both.

`mode=fulltext` is PostgreSQL full-text search with typo tolerance; `semantic` ranks by
the meaning of `q` (embedded by the model server) and answers 503 with `Retry-After`
while no model server answers; `hybrid` fuses both and degrades to full-text results,
saying so, instead of failing (`services/search.py`). Results are served read-through
from the per-user cache (`services/user_cache.py`), invalidated by every entry write
and every analysis the worker stores; a degraded answer is never cached. A word the
background prune later drops from the typo vocabulary can still steer corrections in a
cached result for at most `cache_ttl_seconds`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from journal_api import deps, errors
from journal_api.clients import gate
from journal_api.schemas import entry as entry_schema
from journal_api.schemas import search as schemas
from journal_api.schemas import text
from journal_api.services import search as search_service
from journal_api.services import user_cache

router = APIRouter(prefix="/api/v1/search", tags=["search"])

MAX_QUERY_CHARS = 500
DEFAULT_HITS, MAX_HITS = 10, 50
JSON = "application/json"

SearchText = Annotated[
    str,
    Query(min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for."),
    AfterValidator(text.reject_nul),
    AfterValidator(text.reject_blank),
    text.NOT_BLANK,
]


# Documented on its own: semantic search answers it while the model server is away.
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": errors.Problem,
        "description": "Service Unavailable: `mode=semantic` while no model server answers "
        "(or the database is away); retry after `Retry-After` seconds.",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}


@router.get(
    "",
    response_model=schemas.SearchResults,
    responses={**errors.responses(401), **UNAVAILABLE},
)
async def search_entries(
    q: SearchText,
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    inference: deps.InferenceDep,
    mode: schemas.SearchMode = schemas.SearchMode.FULLTEXT,
    limit: Annotated[int, Query(ge=1, le=MAX_HITS)] = DEFAULT_HITS,
    language: entry_schema.Language = entry_schema.DEFAULT_LANGUAGE,
) -> Response:
    """Your entries best matching `q`, most relevant first.

    - `fulltext`: entries containing every word of `q` (a misspelt word also matches
      similar words you have written), with `<mark>`ed snippets; `language` picks the
      stemming and stop words used for `q`.
    - `semantic`: your analysed entries closest in meaning to `q`, even without a word
      in common. 503 with `Retry-After` while the model server is unavailable.
    - `hybrid`: both rankings fused (reciprocal rank fusion); `matched_by` says which
      found each entry. Without the model server: full-text results, `degraded: true`.
    """
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
    query = search_service.Query(user_id=user.id, text=q, language=language, limit=limit)
    async with deps.open_session(request) as session:
        try:
            outcome = await search_service.search(
                session, inference, settings, mode=mode, query=query
            )
        except search_service.SemanticUnavailable as exc:
            raise errors.ServiceUnavailable(
                f"semantic search is unavailable: {exc.reason}; retry later or use mode=fulltext",
                headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
            ) from exc
        except search_service.QueryRejected as exc:
            raise errors.UnprocessableContent(
                f"invalid input: q ({exc})",
                errors=[
                    errors.FieldError(
                        loc=["query", "q"], field="q", message=str(exc), type="value_error"
                    )
                ],
            ) from exc
        results = schemas.SearchResults(
            mode=mode,
            degraded=outcome.degraded_reason is not None,
            degraded_reason=outcome.degraded_reason,
            items=[
                schemas.SearchHit(
                    entry=entry_schema.EntryPublic.model_validate(hit.entry),
                    score=hit.score,
                    highlight=hit.highlight,
                    matched_by=hit.matched_by,
                )
                for hit in outcome.hits
            ],
        )
    body = results.model_dump_json().encode()
    if not results.degraded:  # a degraded answer must not outlive the outage
        await user_cache.store(cache, cached, body=body, ttl=settings.cache_ttl_seconds)
    return Response(body, media_type=JSON)
