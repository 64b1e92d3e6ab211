"""`GET /api/v1/insights/...`: the signed-in user's writing habits, emotion trend, shifts and
themes, days counted in the user's time zone. Bodies are cached per user (every write and
every stored analysis makes them stale)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from journal_api import deps, errors
from journal_api.clients import gate
from journal_api.schemas import emotions as emotions_schema
from journal_api.schemas import insights as schemas
from journal_api.schemas import shifts as shifts_schema
from journal_api.schemas import themes as themes_schema
from journal_api.services import emotions as emotions_service
from journal_api.services import insights as insights_service
from journal_api.services import shifts as shifts_service
from journal_api.services import themes as themes_service

router = APIRouter(prefix="/api/v1/insights", tags=["insights"])

MAX_DAYS = 3650
MAX_EMOTION_DAYS = 730
RECENT_DAYS, MIN_RECENT_DAYS, MAX_RECENT_DAYS = 14, 7, 90
BASELINE_DAYS, MIN_BASELINE_DAYS, MAX_BASELINE_DAYS = 28, 7, 365
MIN_THEME_ENTRIES, MAX_THEME_ENTRIES = 10, 1000
JSON = "application/json"


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


@router.get(
    "/emotions", response_model=emotions_schema.EmotionTrend, responses=errors.responses(401)
)
async def emotion_trend(
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_EMOTION_DAYS, description="Window in local days, today included.")
    ] = 90,
    bucket: Annotated[
        emotions_schema.Bucket, Query(description="`day` or `week` (Monday first).")
    ] = "day",
) -> Response:
    """Per day or week: the mean of each emotion score, the share of each strongest Ekman
    emotion, sentiment counts, mean polarity and its rolling average (7 days, or 4
    weeks), from the per-day aggregates of your analysed entries."""
    body = await emotions_service.emotion_trend(
        lambda: deps.open_session(request),
        cache,
        metrics,
        user=user,
        days=days,
        bucket=bucket,
        now=dt.datetime.now(dt.UTC),
        ttl=settings.cache_ttl_seconds,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
    )
    return Response(body, media_type=JSON)


@router.get("/shifts", response_model=shifts_schema.ShiftsPublic, responses=errors.responses(401))
async def shift_insights(
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    recent_days: Annotated[
        int,
        Query(
            ge=MIN_RECENT_DAYS, le=MAX_RECENT_DAYS, description="The recent window, today included."
        ),
    ] = RECENT_DAYS,
    baseline_days: Annotated[
        int,
        Query(
            ge=MIN_BASELINE_DAYS,
            le=MAX_BASELINE_DAYS,
            description="The window just before it, compared with it.",
        ),
    ] = BASELINE_DAYS,
) -> Response:
    """Statistically significant changes in sentiment (Welch's t-test on daily mean
    polarity) and in the share of each strongest emotion (two-proportion z-tests) between
    the last `recent_days` local days and the `baseline_days` before, Benjamini-Hochberg
    adjusted at alpha 0.05, each explained with the tags, topics and words behind it.
    Nothing is claimed with fewer than 10 analysed entries on 5 days in either window."""
    body = await shifts_service.shift_insights(
        lambda: deps.open_session(request),
        cache,
        metrics,
        user=user,
        recent_days=recent_days,
        baseline_days=baseline_days,
        now=dt.datetime.now(dt.UTC),
        ttl=settings.cache_ttl_seconds,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
    )
    return Response(body, media_type=JSON)


@router.get("/themes", response_model=themes_schema.ThemesPublic, responses=errors.responses(401))
async def theme_insights(
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    entries: Annotated[
        int,
        Query(
            ge=MIN_THEME_ENTRIES,
            le=MAX_THEME_ENTRIES,
            description="How many of your most recent analysed entries to cluster.",
        ),
    ] = themes_service.DEFAULT_ENTRIES,
) -> Response:
    """Recurring themes: your most recent analysed entries clustered by meaning (k-means
    on their embeddings, k chosen by silhouette), each labelled with its most
    characteristic words and shown with the entries nearest its centre. With the default
    `entries`, the themes are those the worker computed shortly after your latest
    analyses (`computed_at`)."""
    body = await themes_service.theme_insights(
        lambda: deps.open_session(request),
        cache,
        metrics,
        user=user,
        max_entries=entries,
        ttl=settings.cache_ttl_seconds,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
    )
    return Response(body, media_type=JSON)
