"""SQL for the `topics` table. Every query is scoped to one user.

Called by `routes/topics.py`, `routes/entries.py` (is this topic yours?) and the export
service. Callers own the transaction (commit).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import topic as topic_model

UNIQUE_NAME_INDEX = "uq_topics_user_id_lower_name"


class DuplicateNameError(Exception):
    """The user already has a topic with this name (compared case-insensitively)."""


async def create(
    session: AsyncSession, *, user_id: uuid.UUID, name: str, description: str | None
) -> topic_model.Topic:
    """Insert a topic.

    Raises:
        DuplicateNameError: the user has a topic with this name already.
    """
    topic = topic_model.Topic(user_id=user_id, name=name, description=description)
    session.add(topic)
    await _flush_unique(session)
    return topic


async def get(
    session: AsyncSession, *, user_id: uuid.UUID, topic_id: uuid.UUID
) -> topic_model.Topic | None:
    """The user's topic, or None when it does not exist or belongs to someone else."""
    result = await session.execute(
        select(topic_model.Topic).where(
            topic_model.Topic.id == topic_id, topic_model.Topic.user_id == user_id
        )
    )
    return result.scalar_one_or_none()


async def list_all(session: AsyncSession, *, user_id: uuid.UUID) -> list[topic_model.Topic]:
    """All the user's topics, by name."""
    result = await session.execute(
        select(topic_model.Topic)
        .where(topic_model.Topic.user_id == user_id)
        .order_by(func.lower(topic_model.Topic.name), topic_model.Topic.id)
    )
    return list(result.scalars())


async def update(
    session: AsyncSession, *, topic: topic_model.Topic, changes: dict[str, Any]
) -> topic_model.Topic:
    """Apply ``changes`` (field → value) to ``topic``.

    Raises:
        DuplicateNameError: the new name is taken by another of the user's topics.
    """
    for field, value in changes.items():
        setattr(topic, field, value)
    await _flush_unique(session)
    return topic


async def delete(session: AsyncSession, *, topic: topic_model.Topic) -> None:
    """Delete ``topic``; its entries stay, with `topic_id` cleared (ON DELETE SET NULL)."""
    await session.delete(topic)
    await session.flush()


async def _flush_unique(session: AsyncSession) -> None:
    # The unique index is the arbiter: a check-then-insert would race with a
    # concurrent request creating the same name.
    try:
        await session.flush()
    except sa_exc.IntegrityError as exc:
        if UNIQUE_NAME_INDEX in str(exc.orig):
            raise DuplicateNameError from exc
        raise
