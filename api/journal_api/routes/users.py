"""`/api/v1/users/me`: read, update (profile and password) and delete one's own account.

`GET /api/v1/users/me/export` belongs to `routes/export.py`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from journal_api import deps, errors
from journal_api.clients import auth_cache
from journal_api.models import user as user_model
from journal_api.repositories import audit, tokens, users
from journal_api.schemas import user as schemas
from journal_api.services import credentials, user_cache

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
    slots: deps.PasswordSlotsDep,
) -> user_model.User:
    """Change the display name, the time zone, or the password.

    A password change needs `current_password`, signs out every session (all refresh and
    access tokens stop working) and is audited. Wrong current passwords count towards the
    same lock as failed logins (429 with Retry-After once locked).
    """
    user = await users.get(session, user_id=current.id)
    if user is None:  # deleted since the auth state was read
        raise errors.Unauthorized("token has been revoked")
    if body.new_password is not None:
        if not body.current_password:
            raise errors.Forbidden("current_password is required to change the password")
        context = deps.audit_context(request)
        await credentials.check_current_password(
            session,
            settings,
            slots,
            user_id=user.id,
            email=user.email,
            stored_hash=user.password_hash,
            password=body.current_password,
            action="password_change",
            context=context,
        )
        new_hash = await slots.hash(body.new_password)
        # The cut-off (with the new hash) first: its row lock orders it against refreshes
        # in flight, so the revocation below sees every token they issue.
        await users.revoke_access_tokens(session, user_id=user.id, password_hash=new_hash)
        await tokens.revoke_all(session, user_id=user.id)
        await audit.record(
            session, event_type=audit.EventType.PASSWORD_CHANGE, user_id=user.id, **context
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
    responses=errors.responses(401, 403),
)
async def delete_me(
    body: schemas.AccountDeletion,
    request: Request,
    current: deps.CurrentUser,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    cache: deps.CacheDep,
    slots: deps.PasswordSlotsDep,
) -> None:
    """Delete the account and everything derived from it; `current_password` confirms it.

    A wrong password is a 403 and counts towards the login lock. The audit trail keeps
    only the account id.
    """
    user = await users.get(session, user_id=current.id)
    if user is None:  # deleted meanwhile
        raise errors.Unauthorized("token has been revoked")
    context = deps.audit_context(request)
    await credentials.check_current_password(
        session,
        settings,
        slots,
        user_id=user.id,
        email=user.email,
        stored_hash=user.password_hash,
        password=body.current_password,
        action="account_deletion",
        context=context,
    )
    await audit.record(
        session,
        event_type=audit.EventType.ACCOUNT_DELETED,
        user_id=None,
        subject=str(user.id),
        **context,
    )
    await users.delete(session, user_id=user.id)
    await session.commit()
    # After the commit: the account's still-valid access tokens are refused from now on,
    # and nothing cached from its data (lists, entries, search results, insights) is kept.
    await auth_cache.invalidate(cache, user_id=user.id)
    await user_cache.purge(cache, user_id=user.id)
