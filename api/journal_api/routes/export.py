"""`GET /api/v1/users/me/export`: download everything you own, streamed, as one JSON
document or as NDJSON (`Accept: application/x-ndjson`); a few exports per hour."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from journal_api import deps, errors
from journal_api.schemas import export as schemas
from journal_api.services import export as export_service

router = APIRouter(prefix="/api/v1/users", tags=["users"])

LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": errors.Problem,
        "description": "Too Many Requests: this account's exports of the current window are "
        "used up (or a rate limit); retry after `Retry-After` seconds.",
        "headers": {
            "Retry-After": {
                "description": "Seconds until the next export is allowed.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}
FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export, streamed: one JSON document, or with "
        "`Accept: application/x-ndjson` one JSON object per line (`type`: `profile`, then "
        "each `topic` and `entry`, then `end` with the counts).",
        "content": {
            export_service.NDJSON: {
                "schema": {"type": "string", "description": "Newline-delimited JSON objects."}
            }
        },
    }
}


def _media_type(request: Request) -> str:
    # NDJSON only when asked for by name; anything else (*/*, none) gets the document.
    accept = request.headers.get("accept", "")
    wanted = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return export_service.NDJSON if export_service.NDJSON in wanted else export_service.JSON


@router.get(
    "/me/export",
    # Documented as the JSON document (and NDJSON below); the route returns the stream.
    response_model=schemas.ExportDocument,
    responses={**errors.responses(401), **LIMITED, **FORMATS},
)
async def export_me(
    request: Request, user: deps.CurrentUser, session: deps.SessionDep, settings: deps.SettingsDep
) -> StreamingResponse:
    """Your profile, topics and entries with their analyses (never your password or
    tokens), streamed as it is read. Audited; at most `export_max_per_window` exports per
    `export_window_seconds` (429 with Retry-After beyond that)."""
    media_type = _media_type(request)
    try:
        admitted = await export_service.begin(
            session, settings, user=user, media_type=media_type, **deps.audit_context(request)
        )
    except export_service.ExportLimited as exc:
        raise errors.TooManyRequests(
            f"export limit reached: at most {exc.limit} exports per {exc.window_seconds} seconds",
            retry_after=exc.retry_after,
        ) from exc
    body = export_service.stream(lambda: deps.open_session(request), user=user, admitted=admitted)
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={"Content-Disposition": 'attachment; filename="journal-export.json"'}
        if media_type == export_service.JSON
        else {"Content-Disposition": 'attachment; filename="journal-export.ndjson"'},
    )
