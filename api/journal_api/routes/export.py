"""`GET /api/v1/users/me/export`: download everything you own as one JSON document."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from journal_api import deps, errors
from journal_api.schemas import export as schemas
from journal_api.services import export as export_service

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me/export", response_model=schemas.ExportDocument, responses=errors.responses(401))
async def export_me(
    request: Request, user: deps.CurrentUser, session: deps.SessionDep
) -> schemas.ExportDocument:
    """Your profile, topics and entries with their analyses (never your password or
    tokens). Audited."""
    context = deps.audit_context(request)
    return await export_service.export_document(
        session,
        user=user,
        now=dt.datetime.now(dt.UTC),
        ip=context["ip"],
        user_agent=context["user_agent"],
    )
