"""`GET /api/v1/entries/{id}/suggestions` and `GET /api/v1/insights/suggestions`: techniques
from the knowledge base matched to an analysed entry, or to a period of entries.

Safety first: the text is screened (`services/safety.py`) before anything is suggested, and a
text that reads as self-harm or suicidal intent gets `kind: support` (a supportive message and
crisis resources for the user's locale) instead of techniques. An analysed entry carries the
verdict the worker stored with its analysis (for its current text, with the current crisis
language): that verdict is used and the text is not embedded again. Any other text is
screened here, which needs the model server; while it is away the phrase rules still run (on
every text), and a text they do not flag answers 503 with `Retry-After` rather than
suggestions from an incomplete screen. Bodies are cached per
user like entries (every write and every stored analysis invalidates them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api import deps, errors
from journal_api import settings as settings_module
from journal_api.clients import gate
from journal_api.clients import inference as inference_module
from journal_api.knowledge import crisis
from journal_api.knowledge import resources as resources_module
from journal_api.knowledge import techniques as kb
from journal_api.models import analysis as analysis_model
from journal_api.models import entry as entry_model
from journal_api.repositories import entries as entries_repo
from journal_api.repositories import semantic as semantic_repo
from journal_api.schemas import suggestions as schemas
from journal_api.services import entries as entries_service
from journal_api.services import insights as insights_service
from journal_api.services import safety, suggestions, user_cache

router = APIRouter(tags=["suggestions"])

JSON = "application/json"
DEFAULT_LIMIT, MAX_LIMIT = 3, 10
DEFAULT_DAYS, MAX_DAYS = 30, 365
PAGE, PERIOD_MAX_ENTRIES = 100, 200
# The newest entries of a period that are screened with the model on each request (the
# rules read all of them), and whose embeddings steer the period's match.
PERIOD_SCREENED = 10
NO_SERVER_RETRY_SECONDS = 30

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many techniques.")]
Locale = Annotated[
    str | None,
    Query(
        max_length=35,
        description="Where to find help, as a locale with a country (en-GB, fr-CA); "
        "default: the first Accept-Language tag.",
    ),
]


@dataclasses.dataclass(frozen=True)
class _Context:
    client: inference_module.InferenceClient | None
    settings: settings_module.Settings
    resources: resources_module.Resources
    locale: str | None
    limit: int


@router.get(
    "/api/v1/entries/{entry_id}/suggestions",
    response_model=schemas.SuggestionsPublic,
    responses=errors.responses(401, 404, 409, 503),
)
async def entry_suggestions(
    entry_id: uuid.UUID,
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    inference: deps.InferenceDep,
    limit: Limit = DEFAULT_LIMIT,
    locale: Locale = None,
) -> Response:
    """Techniques that fit how this entry reads, each with the reason it was matched.

    409 while the entry has no analysis (pending or failed). If the entry reads as
    self-harm or suicidal intent, `kind` is `support`: a supportive message and crisis
    resources for your locale instead of techniques.
    """
    context = _context(request, inference, settings, locale=locale, limit=limit)
    cached = await user_cache.lookup(
        cache,
        metrics,
        user_id=user.id,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
        variant=f"country={context.resources.for_locale(context.locale)[0]}",
    )
    if cached.body is not None:
        return Response(cached.body, media_type=JSON)
    async with deps.open_session(request) as session:
        entry = await entries_repo.get(session, user_id=user.id, entry_id=entry_id)
        if entry is None:
            raise errors.NotFound("entry not found")
        analysis = _analysed(entry)
        if analysis is None:
            raise errors.Conflict("this entry has not been analysed yet; try again shortly")
        embedding = await semantic_repo.embedding_of(session, user_id=user.id, entry_id=entry_id)
    signals = _signals(analysis, embedding)
    verdict = stored_verdict(analysis)
    body = await _respond(
        context,
        screened=[_text(entry)] if verdict is None else [],
        unscreened=[] if verdict is None else [_text(entry)],
        verdicts=[] if verdict is None else [verdict],
        signals=signals,
        model=analysis.model_version,
        entries=1,
    )
    await user_cache.store(cache, cached, body=body, ttl=settings.cache_ttl_seconds)
    return Response(body, media_type=JSON)


@router.get(
    "/api/v1/insights/suggestions",
    response_model=schemas.SuggestionsPublic,
    responses=errors.responses(401, 503),
)
async def period_suggestions(
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    inference: deps.InferenceDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="Window in local days, today included.")
    ] = DEFAULT_DAYS,
    limit: Limit = DEFAULT_LIMIT,
    locale: Locale = None,
) -> Response:
    """Techniques that fit how your entries of the last `days` days read together
    (emotions aggregated over up to 200 analysed entries, by `entry_date`).

    Entries with a stored crisis verdict use it; of the others, the newest 10 are
    screened with the model and all of them with the phrase rules.

    If any of those entries reads as self-harm or suicidal intent, `kind` is `support`.
    """
    context = _context(request, inference, settings, locale=locale, limit=limit)
    today = entries_service.local_today(user, dt.datetime.now(dt.UTC))
    country = context.resources.for_locale(context.locale)[0]
    cached = await user_cache.lookup(
        cache,
        metrics,
        user_id=user.id,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
        variant=f"{user.timezone} {today} country={country}",
    )
    if cached.body is not None:
        return Response(cached.body, media_type=JSON)
    start, end = insights_service.window(today=today, days=days)
    async with deps.open_session(request) as session:
        entries = await _entries_between(session, user_id=user.id, start=start, end=end)
        analysed = [(e, a) for e in entries if (a := _analysed(e)) is not None]
        embeddings = [
            await semantic_repo.embedding_of(session, user_id=user.id, entry_id=e.id)
            for e, _ in analysed[:PERIOD_SCREENED]
        ]
    # Only the newest entries' embeddings are read: they steer the period's meaning.
    padded: list[list[float] | None] = [*embeddings, *[None] * (len(analysed) - len(embeddings))]
    period = suggestions.aggregate(
        [_signals(a, v) for (_, a), v in zip(analysed, padded, strict=True)], days=days
    )
    verdicts = [stored_verdict(e.analysis) for e in entries]
    unknown = [e for e, verdict in zip(entries, verdicts, strict=True) if verdict is None]
    live = {e.id for e in unknown[:PERIOD_SCREENED]}
    body = await _respond(
        context,
        screened=[_text(e) for e in entries if e.id in live],
        unscreened=[_text(e) for e in entries if e.id not in live],
        verdicts=[verdict for verdict in verdicts if verdict is not None],
        signals=period,
        model=next((a.model_version for _, a in analysed), None),
        entries=len(analysed),
        days=days,
    )
    await user_cache.store(cache, cached, body=body, ttl=settings.cache_ttl_seconds)
    return Response(body, media_type=JSON)


def _context(
    request: Request,
    client: inference_module.InferenceClient | None,
    settings: settings_module.Settings,
    *,
    locale: str | None,
    limit: int,
) -> _Context:
    if locale is None:
        # "en-GB,en;q=0.9" -> "en-GB": the preferred tag is the likeliest to name a country.
        header = request.headers.get("accept-language", "")
        locale = header.split(",", 1)[0].split(";", 1)[0].strip() or None
    resources = resources_module.load(settings.crisis_resources_file)
    return _Context(client, settings, resources, locale, limit)


async def _entries_between(
    session: AsyncSession, *, user_id: uuid.UUID, start: dt.date, end: dt.date
) -> list[entry_model.Entry]:
    """The user's entries dated in [start, end], newest first, at most the period cap."""
    filters = entries_repo.Filters(date_from=start, date_to=end)
    entries: list[entry_model.Entry] = []
    after = None
    while len(entries) < PERIOD_MAX_ENTRIES:
        page, after = await entries_repo.list_page(
            session, user_id=user_id, filters=filters, after=after, limit=PAGE
        )
        entries.extend(page)
        if after is None:
            break
    return entries[:PERIOD_MAX_ENTRIES]


def _analysed(entry: entry_model.Entry) -> analysis_model.EntryAnalysis | None:
    analysis = entry.analysis
    return (
        analysis if analysis is not None and analysis.status == analysis_model.Status.DONE else None
    )


def stored_verdict(analysis: analysis_model.EntryAnalysis | None) -> bool | None:
    """The worker's crisis verdict on the entry's current text, or None when there is none
    to trust: not analysed, stored unscreened, or screened with another crisis language
    (rules, exemplars or threshold changed since). An edit clears it with the analysis."""
    if (
        analysis is None
        or analysis.status != analysis_model.Status.DONE
        or analysis.crisis_flagged is None
    ):
        return None
    screening = analysis.crisis_screening or {}
    if screening.get("language_version") != crisis.language().version:
        return None
    return analysis.crisis_flagged


def _signals(
    analysis: analysis_model.EntryAnalysis, embedding: Sequence[float] | None
) -> suggestions.Signals:
    return suggestions.signals(
        scores=analysis.emotion_scores,
        labels=analysis.emotion_labels,
        ekman=analysis.ekman,
        sentiment=analysis.sentiment,
        polarity=analysis.polarity,
        embedding=embedding,
    )


def _text(entry: entry_model.Entry) -> str:
    return f"{entry.title}\n{entry.content}" if entry.title else entry.content


async def _respond(
    context: _Context,
    *,
    screened: list[str],
    unscreened: list[str],
    signals: suggestions.Signals,
    verdicts: Sequence[bool] = (),  # the stored verdicts of texts not in `screened`
    model: str | None,
    entries: int,
    days: int | None = None,
) -> bytes:
    """Support if any text reads as a crisis, else the best techniques (a JSON body)."""
    catalog = kb.catalog()
    language = crisis.language()
    flagged_by_rules = any(safety.rule_ids(t, language) for t in screened + unscreened)
    if flagged_by_rules or any(verdicts):
        return _support(context, catalog, entries=entries, days=days)
    if not screened and not verdicts:
        return _body(catalog, [], entries=entries, days=days)
    client = context.client
    key = f"{client.base_url if client else ''}#{model}"
    try:
        if client is None:
            raise inference_module.InferenceUnavailable(
                "no model server is configured", retry_after=NO_SERVER_RETRY_SECONDS
            )
        screenings = (
            await safety.screen_texts(screened, embed=client.embed, model=key) if screened else []
        )
        if any(s.flagged for s in screenings):
            return _support(context, catalog, entries=entries, days=days)
        if not entries:
            return _body(catalog, [], entries=entries, days=days)
        vectors = await suggestions.technique_vectors(catalog, embed=client.embed, model=key)
    except inference_module.InferenceError as exc:
        retry = getattr(exc, "retry_after", context.settings.inference_breaker_reset_seconds)
        raise errors.ServiceUnavailable(
            "suggestions are unavailable while the model server is: every text is screened "
            "for safety before anything is suggested; retry shortly",
            headers={"Retry-After": str(max(1, math.ceil(retry)))},
        ) from exc
    matches = suggestions.rank(signals, catalog, vectors, limit=context.limit)
    return _body(catalog, matches, entries=entries, days=days)


def _support(context: _Context, catalog: kb.Catalog, *, entries: int, days: int | None) -> bytes:
    return (
        schemas.SuggestionsPublic(
            kind="support",
            suggestions=[],
            support=safety.support(context.resources, locale=context.locale),
            knowledge_version=catalog.version,
            days=days,
            entries=entries,
        )
        .model_dump_json()
        .encode()
    )


def _body(
    catalog: kb.Catalog, matches: list[suggestions.Match], *, entries: int, days: int | None
) -> bytes:
    return (
        schemas.SuggestionsPublic(
            kind="suggestions",
            suggestions=[suggestions.suggestion(m) for m in matches],
            knowledge_version=catalog.version,
            days=days,
            entries=entries,
        )
        .model_dump_json()
        .encode()
    )
