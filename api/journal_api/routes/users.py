"""`/api/v1/users/me`: read, update (profile and password) and delete one's own account.

`GET /api/v1/users/me/export` belongs to `routes/export.py`.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response, status

from journal_api import deps, errors, security
from journal_api.clients import auth_cache
from journal_api.models import user as user_model
from journal_api.repositories import audit, tokens, users
from journal_api.schemas import user as schemas

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=schemas.UserPublic, responses=errors.responses(401))
async def read_me(user: deps.CurrentUser) -> schemas.AuthUser:
    """The signed-in user's profile."""
    return user


@router.patch("/me", response_model=schemas.UserPublic, responses=errors.responses(401, 403))
async def update_me(
    body: schemas.UserUpdate,
    request: Request,
    current: deps.CurrentUser,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    cache: deps.CacheDep,
) -> user_model.User:
    """Change the display name, the time zone, or the password.

    A password change needs `current_password`, signs out every session (all refresh and
    access tokens stop working) and is audited.
    """
    user = await users.get(session, user_id=current.id)
    if user is None:  # deleted since the auth state was read
        raise errors.Unauthorized("token has been revoked")
    if body.new_password is not None:
        if not body.current_password:
            raise errors.Forbidden("current_password is required to change the password")
        valid = await asyncio.to_thread(
            security.verify_password, settings, body.current_password, user.password_hash
        )
        if not valid:
            raise errors.Forbidden("current_password is incorrect")
        user.password_hash = await asyncio.to_thread(
            security.hash_password, settings, body.new_password
        )
        await tokens.revoke_all(session, user_id=user.id)
        await users.revoke_access_tokens(session, user_id=user.id)
        await audit.record(
            session,
            event_type=audit.EventType.PASSWORD_CHANGE,
            user_id=user.id,
            **deps.audit_context(request),
        )
    if "display_name" in body.model_fields_set:
        user.display_name = body.display_name
    if body.timezone is not None:
        user.timezone = body.timezone
    await session.commit()
    # After the commit: the next request reads the new profile and token cut-off.
    await auth_cache.invalidate(cache, user_id=user.id)
    await session.refresh(user)
    return user


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors.responses(401),
)
async def delete_me(
    request: Request, user: deps.CurrentUser, session: deps.SessionDep, cache: deps.CacheDep
) -> None:
    """Delete the account and everything derived from it. The audit trail keeps only the
    account id."""
    await audit.record(
        session,
        event_type=audit.EventType.ACCOUNT_DELETED,
        user_id=None,
        subject=str(user.id),
        **deps.audit_context(request),
    )
    await users.delete(session, user_id=user.id)
    await session.commit()
    # After the commit: the account's still-valid access tokens are refused from now on.
    await auth_cache.invalidate(cache, user_id=user.id)
