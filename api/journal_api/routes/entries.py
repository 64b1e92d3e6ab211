"""`/api/v1/entries`: write, read and page through one's own journal entries.

Another user's entry is a 404, exactly like a missing one (`OwnedEntry`). The list,
single entries and similar entries are served read-through from the per-user cache
(`services/user_cache.py`); every write, and every analysis the worker stores,
invalidates them after committing. Each entry carries its `analysis` (null while
pending); the list filters by analysed `emotion` and `sentiment`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic.json_schema import SkipJsonSchema

from journal_api import deps, errors, keys
from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module
from journal_api.clients import gate
from journal_api.models import entry as entry_model
from journal_api.repositories import entries as entries_repo
from journal_api.repositories import semantic as semantic_repo
from journal_api.schemas import analysis as analysis_schema
from journal_api.schemas import entry as schemas
from journal_api.schemas import search as search_schema
from journal_api.schemas import text
from journal_api.schemas import user as user_schema
from journal_api.services import entries as entries_service
from journal_api.services import user_cache

router = APIRouter(prefix="/api/v1/entries", tags=["entries"])

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100
DEFAULT_SIMILAR, MAX_SIMILAR = 5, 50
# What a signed cursor looks like (`keys.sign`): payload, dot, 16-byte signature.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$"
CURSOR_FORMAT = "journal-cursor"
JSON = "application/json"


async def owned_entry(
    entry_id: uuid.UUID, user: deps.CurrentUser, session: deps.SessionDep
) -> entry_model.Entry:
    """The path's entry if the signed-in user owns it.

    Raises:
        errors.NotFound: missing, or someone else's (indistinguishable on purpose).
    """
    entry = await entries_repo.get(session, user_id=user.id, entry_id=entry_id)
    if entry is None:
        raise errors.NotFound("entry not found")
    return entry


OwnedEntry = Annotated[entry_model.Entry, Depends(owned_entry)]


async def _cached(
    request: Request,
    cache: cache_module.Cache,
    metrics: metrics_module.Metrics,
    *,
    user: user_schema.AuthUser,
) -> user_cache.Lookup:
    # Usually answered from the middleware's admission round trip (`clients/gate.py`).
    return await user_cache.lookup(
        cache,
        metrics,
        user_id=user.id,
        resource=gate.resource(request.scope),
        prefetch=deps.prefetched(request, user.id),
    )


def _invalid(field: str, location: str, message: str) -> errors.UnprocessableContent:
    return errors.UnprocessableContent(
        f"invalid input: {field}",
        errors=[
            errors.FieldError(
                loc=[location, field], field=field, message=message, type="value_error"
            )
        ],
    )


def _unknown_topic() -> errors.Conflict:
    # Someone else's topic is indistinguishable from none. A 409, not a 404: the request's
    # target (the collection, or an entry that exists) was found, and a 404 on
    # PATCH /entries/{id} would tell a client that the entry is gone. Not a 422 either: a
    # well-formed id is valid input. The problem names the field.
    error = errors.FieldError(
        loc=["body", "topic_id"],
        field="topic_id",
        message="not one of your topics",
        type="not_found",
    )
    return errors.Conflict("topic not found: topic_id is not one of your topics", errors=[error])


def _over_quota(exc: entries_service.QuotaExceeded) -> errors.Forbidden:
    fields = (
        [
            errors.FieldError(
                loc=["body", exc.field], field=exc.field, message=str(exc), type="quota"
            )
        ]
        if exc.field is not None
        else None
    )
    return errors.Forbidden(str(exc), errors=fields)


async def list_filters(
    topic_id: uuid.UUID | None = None,
    tag: Annotated[text.PlainText | None, Query(max_length=schemas.MAX_TAG_CHARS)] = None,
    date_from: Annotated[schemas.EntryDate | None, Query(alias="from")] = None,
    date_to: Annotated[schemas.EntryDate | None, Query(alias="to")] = None,
    favorite: bool | None = None,
    mood_min: Annotated[int | None, Query(ge=-2, le=2)] = None,
    mood_max: Annotated[int | None, Query(ge=-2, le=2)] = None,
    emotion: Annotated[
        analysis_schema.Emotion | None,
        Query(description="Analysed entries showing this GoEmotions label (or Ekman group)."),
    ] = None,
    sentiment: Annotated[
        analysis_schema.Sentiment | None,
        Query(description="Analysed entries with this overall sentiment."),
    ] = None,
) -> entries_repo.Filters:
    """The list's filters; `from`/`to` bound `entry_date`, both inclusive."""
    return entries_repo.Filters(
        topic_id=topic_id,
        tag=tag.strip().lower() if tag is not None else None,
        date_from=date_from,
        date_to=date_to,
        favorite=favorite,
        mood_min=mood_min,
        mood_max=mood_max,
        emotion=emotion,
        sentiment=sentiment,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.EntryPublic,
    responses=errors.responses(401, 403, 409),
)
async def create_entry(
    body: schemas.EntryCreate,
    user: deps.CurrentUser,
    session: deps.SessionDep,
    cache: deps.CacheDep,
    settings: deps.SettingsDep,
) -> entry_model.Entry:
    """Write an entry. `entry_date` defaults to today in your profile's time zone; tags
    are trimmed, lower-cased and de-duplicated; `topic_id` must be one of your topics
    (409 naming `topic_id` otherwise).

    403 once the account holds `quota_max_entries` entries or `quota_max_text_chars`
    characters of text (the problem says which)."""
    try:
        return await entries_service.create(
            session,
            cache,
            user=user,
            body=body,
            now=dt.datetime.now(dt.UTC),
            quotas=entries_service.Quotas.from_settings(settings),
        )
    except entries_service.UnknownTopicError:
        raise _unknown_topic() from None
    except entries_service.QuotaExceeded as exc:
        raise _over_quota(exc) from None


@router.get("", response_model=schemas.EntriesPage, responses=errors.responses(401))
async def list_entries(
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    filters: Annotated[entries_repo.Filters, Depends(list_filters)],
    cursor: Annotated[
        str | SkipJsonSchema[None],
        Query(
            max_length=512,
            pattern=CURSOR_PATTERN,
            description="A `next_cursor` this API issued (signed; any other is a 422).",
            json_schema_extra={"format": CURSOR_FORMAT, "pattern": CURSOR_PATTERN},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Response:
    """Your entries, newest `entry_date` first (then newest written), one page at a time.

    Pass the response's `next_cursor` as `cursor` for the next page; it is null on the
    last page. A cursor is only valid with the filters it was issued for.
    """
    cursor_key = keys.derive(settings, keys.CURSOR)
    try:
        after = entries_repo.Keyset.decode(cursor, cursor_key) if cursor else None
    except ValueError:
        raise _invalid("cursor", "query", "not a cursor issued by this API") from None
    cached = await _cached(request, cache, metrics, user=user)
    if cached.body is not None:
        return Response(cached.body, media_type=JSON)
    async with deps.open_session(request) as session:
        rows, next_keyset = await entries_repo.list_page(
            session, user_id=user.id, filters=filters, after=after, limit=limit
        )
        page = schemas.EntriesPage(
            items=[schemas.EntryPublic.model_validate(row) for row in rows],
            next_cursor=next_keyset.encode(cursor_key) if next_keyset else None,
        )
    body = page.model_dump_json().encode()
    await user_cache.store(cache, cached, body=body, ttl=settings.cache_ttl_seconds)
    return Response(body, media_type=JSON)


@router.get("/{entry_id}", response_model=schemas.EntryPublic, responses=errors.responses(401, 404))
async def read_entry(
    entry_id: uuid.UUID,
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
) -> Response:
    """One of your entries."""
    cached = await _cached(request, cache, metrics, user=user)
    if cached.body is not None:
        return Response(cached.body, media_type=JSON)
    async with deps.open_session(request) as session:
        entry = await entries_repo.get(session, user_id=user.id, entry_id=entry_id)
        if entry is None:
            raise errors.NotFound("entry not found")
        body = schemas.EntryPublic.model_validate(entry).model_dump_json().encode()
    await user_cache.store(cache, cached, body=body, ttl=settings.cache_ttl_seconds)
    return Response(body, media_type=JSON)


@router.get(
    "/{entry_id}/similar",
    response_model=search_schema.SimilarEntries,
    responses=errors.responses(401, 404, 409),
)
async def similar_entries(
    entry_id: uuid.UUID,
    request: Request,
    user: deps.CurrentUser,
    cache: deps.CacheDep,
    metrics: deps.MetricsDep,
    settings: deps.SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_SIMILAR)] = DEFAULT_SIMILAR,
) -> Response:
    """Your other entries closest in meaning to this one, most similar first.

    Uses the stored analyses (no model call), so it works while the model server is
    down; 409 while this entry has no analysis yet (pending or failed).
    """
    cached = await _cached(request, cache, metrics, user=user)
    if cached.body is not None:
        return Response(cached.body, media_type=JSON)
    async with deps.open_session(request) as session:
        if await entries_repo.get(session, user_id=user.id, entry_id=entry_id) is None:
            raise errors.NotFound("entry not found")
        vector = await semantic_repo.embedding_of(session, user_id=user.id, entry_id=entry_id)
        if vector is None:
            raise errors.Conflict("this entry has not been analysed yet; try again shortly")
        neighbours = await semantic_repo.nearest(
            session,
            user_id=user.id,
            embedding=vector,
            limit=limit,
            ef_search=settings.search_ef_search,
            exclude=entry_id,
        )
        page = search_schema.SimilarEntries(
            items=[
                search_schema.SimilarEntry(
                    entry=schemas.EntryPublic.model_validate(n.entry), similarity=n.similarity
                )
                for n in neighbours
            ]
        )
    body = page.model_dump_json().encode()
    await user_cache.store(cache, cached, body=body, ttl=settings.cache_ttl_seconds)
    return Response(body, media_type=JSON)


@router.patch(
    "/{entry_id}",
    response_model=schemas.EntryPublic,
    responses=errors.responses(401, 403, 404, 409),
)
async def update_entry(
    body: schemas.EntryUpdate,
    entry: OwnedEntry,
    user: deps.CurrentUser,
    session: deps.SessionDep,
    cache: deps.CacheDep,
    settings: deps.SettingsDep,
) -> entry_model.Entry:
    """Change the fields you send; `null` clears `title`, `topic_id` or `mood`. 403 when a
    longer text would take the account past its text quota; 409 naming `topic_id` when it
    is not one of your topics."""
    try:
        return await entries_service.update(
            session,
            cache,
            user=user,
            entry=entry,
            body=body,
            quotas=entries_service.Quotas.from_settings(settings),
        )
    except entries_service.UnknownTopicError:
        raise _unknown_topic() from None
    except entries_service.QuotaExceeded as exc:
        raise _over_quota(exc) from None


@router.delete(
    "/{entry_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors.responses(401, 404),
)
async def delete_entry(
    entry: OwnedEntry,
    user: deps.CurrentUser,
    session: deps.SessionDep,
    cache: deps.CacheDep,
    settings: deps.SettingsDep,
) -> None:
    """Delete one of your entries."""
    await entries_service.delete(
        session,
        cache,
        user=user,
        entry=entry,
        themes_delay=dt.timedelta(seconds=settings.themes_refresh_delay_seconds),
    )
