"""Request and response bodies of `/api/v1/topics` (and the topics of an export)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from journal_api.schemas import text

Description = Annotated[text.PlainText, Field(max_length=1000)]

TOPIC_EXAMPLE: dict[str, Any] = {
    "id": "5f0f7c1e-8a61-4c36-9a43-0d8c1f0a2b11",
    "name": "Gratitude",
    "description": "Three good things, every evening.",
    "created_at": "2026-11-20T21:04:05.123456Z",
    "updated_at": "2026-11-20T21:04:05.123456Z",
}


class TopicCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Gratitude", "description": "Three good things, every evening."}]
        },
    )

    name: text.Name = Field(description="Unique per user, compared case-insensitively.")
    description: Description | None = None


class TopicUpdate(BaseModel):
    """Only the fields sent are changed; `description: null` clears it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Gratitude journal"}]}
    )

    # Optional but never null: the schema says so (SkipJsonSchema hides the None that
    # only marks "not sent"), and an explicit null is refused below.
    name: text.Name | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=text.omit_default
    )
    description: Description | None = None

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str:
        # Runs only when the client sent `name`: an explicit null is refused.
        if value is None:
            raise ValueError("cannot be null")
        return value


class TopicPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [TOPIC_EXAMPLE]})

    id: uuid.UUID
    name: str
    description: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class TopicsPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [TOPIC_EXAMPLE]}]})

    items: list[TopicPublic]
