"""`/api/v1/topics`: create, list, read, rename and delete one's own topics.

Another user's topic is a 404, exactly like a missing one (`OwnedTopic`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from journal_api import deps, errors
from journal_api.models import topic as topic_model
from journal_api.repositories import topics as topics_repo
from journal_api.schemas import topic as schemas
from journal_api.services import user_cache

router = APIRouter(prefix="/api/v1/topics", tags=["topics"])


async def owned_topic(
    topic_id: uuid.UUID, user: deps.CurrentUser, session: deps.SessionDep
) -> topic_model.Topic:
    """The path's topic if the signed-in user owns it.

    Raises:
        errors.NotFound: missing, or someone else's (indistinguishable on purpose).
    """
    topic = await topics_repo.get(session, user_id=user.id, topic_id=topic_id)
    if topic is None:
        raise errors.NotFound("topic not found")
    return topic


OwnedTopic = Annotated[topic_model.Topic, Depends(owned_topic)]


# OpenAPI links of a created topic. Writing an entry filed under it is the one relation a
# client (or schemathesis' stateful run) cannot infer from names alone: the body's
# `topic_id` names no `Topic` schema (the document's is `TopicPublic`).
CREATED_LINKS = {
    "CreateEntryInTopic": {
        "operationId": "entries-create_entry",
        "requestBody": {"topic_id": "$response.body#/id"},
        "description": "Write an entry filed under this topic.",
    }
}


def _name_taken(name: str) -> errors.Conflict:
    return errors.Conflict(
        f"you already have a topic named {name!r}",
        errors=[
            errors.FieldError(
                loc=["body", "name"],
                field="name",
                message="a topic with this name already exists (names ignore case)",
                type="conflict",
            )
        ],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.TopicPublic,
    responses={201: {"links": CREATED_LINKS}, **errors.responses(401, 409)},
)
async def create_topic(
    body: schemas.TopicCreate,
    user: deps.CurrentUser,
    session: deps.SessionDep,
    cache: deps.CacheDep,
) -> topic_model.Topic:
    """Create a topic. Names are unique per user, ignoring case (409 naming `name`)."""
    try:
        topic = await topics_repo.create(
            session, user_id=user.id, name=body.name, description=body.description
        )
    except topics_repo.DuplicateNameError:
        raise _name_taken(body.name) from None
    await session.commit()
    await user_cache.invalidate(cache, user_id=user.id)
    return topic


@router.get("", response_model=schemas.TopicsPublic, responses=errors.responses(401))
async def list_topics(user: deps.CurrentUser, session: deps.SessionDep) -> schemas.TopicsPublic:
    """All your topics, by name."""
    topics = await topics_repo.list_all(session, user_id=user.id)
    return schemas.TopicsPublic(items=[schemas.TopicPublic.model_validate(t) for t in topics])


@router.get("/{topic_id}", response_model=schemas.TopicPublic, responses=errors.responses(401, 404))
async def read_topic(topic: OwnedTopic) -> topic_model.Topic:
    """One of your topics."""
    return topic


@router.patch(
    "/{topic_id}", response_model=schemas.TopicPublic, responses=errors.responses(401, 404, 409)
)
async def update_topic(
    body: schemas.TopicUpdate,
    topic: OwnedTopic,
    user: deps.CurrentUser,
    session: deps.SessionDep,
    cache: deps.CacheDep,
) -> topic_model.Topic:
    """Rename a topic or change its description."""
    changes = body.model_dump(exclude_unset=True)
    try:
        topic = await topics_repo.update(session, topic=topic, changes=changes)
    except topics_repo.DuplicateNameError:
        raise _name_taken(str(changes.get("name"))) from None
    await session.commit()
    await user_cache.invalidate(cache, user_id=user.id)
    return topic


@router.delete(
    "/{topic_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors.responses(401, 404),
)
async def delete_topic(
    topic: OwnedTopic, user: deps.CurrentUser, session: deps.SessionDep, cache: deps.CacheDep
) -> None:
    """Delete a topic. Its entries are kept, without a topic."""
    await topics_repo.delete(session, topic=topic)
    await session.commit()
    await user_cache.invalidate(cache, user_id=user.id)
