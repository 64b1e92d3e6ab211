"""`GET /api/v1/insights/writing`: writing habits in the signed-in user's time zone."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from journal_api import deps, errors
from journal_api.clients import gate
from journal_api.schemas import insights as schemas
from journal_api.services import insights as insights_service

router = APIRouter(prefix="/api/v1/insights", tags=["insights"])

MAX_DAYS = 3650


@router.get("/writing", response_model=schemas.WritingInsights, responses=errors.responses(401))
async def writing_insights(
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="Window in local days, today included.")
    ] = 30,
) -> Response:
    """Entries, words, active days, streaks, entries per weekday and mood per day over the
    last `days` days, with days counted in your profile's time zone."""
    body = await insights_service.writing_insights(
        lambda: deps.open_session(request),
        cache,
        metrics,
        user=user,
        days=days,
        now=dt.datetime.now(dt.UTC),
        ttl=settings.cache_ttl_seconds,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
    )
    return Response(body, media_type="application/json")
