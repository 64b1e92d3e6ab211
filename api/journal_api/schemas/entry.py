"""Request and response bodies of `/api/v1/entries`, and the list page with its cursor.

Tags are counted and measured as sent (`RawTags`: limits the OpenAPI document states
exactly), then normalised (trimmed, lower-cased, de-duplicated in order, empty ones
dropped), so `["Work", " work "]` is one tag.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from journal_api.schemas import analysis as analysis_schema
from journal_api.schemas import text

MAX_CONTENT_CHARS = 100_000
MAX_TITLE_CHARS = 200
MAX_TAGS = 20
MAX_TAG_CHARS = 50

Content = Annotated[
    text.PlainText,
    Field(min_length=1, max_length=MAX_CONTENT_CHARS, description="The entry text."),
    text.NOT_BLANK,
]
Title = Annotated[text.PlainText, Field(max_length=MAX_TITLE_CHARS)]


def _json_integer(value: object) -> object:
    # Pydantic would also read `true` as 1 and "2" as 2; the document says integer, so a
    # JSON boolean or string is refused (1.0 is an integer in JSON Schema, and kept).
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


def _json_boolean(value: object) -> object:
    # Pydantic would also read 1, "yes" or "on" as true; the document says boolean. (A
    # null passes, for `EntryUpdate._not_null` to refuse by name.)
    if value is not None and not isinstance(value, bool):
        raise ValueError("must be a boolean")
    return value


Mood = Annotated[
    int,
    Field(ge=-2, le=2, description="Self-reported mood, -2 (low) to 2 (high)."),
    BeforeValidator(_json_integer),
]
JsonBool = BeforeValidator(_json_boolean)
# Limits on the list as sent: JSON Schema cannot count tags after normalisation, and a
# document saying less than what is refused lets schema-valid requests fail.
RawTags = Annotated[
    list[Annotated[text.PlainText, Field(max_length=MAX_TAG_CHARS)]],
    Field(max_length=MAX_TAGS),
]
# Keeps dates in a range every consumer (JSON, PostgreSQL, calendars) agrees on.
# PostgreSQL's built-in text-search configurations: stemming and stop words per language.
Language = Literal[
    "simple", "arabic", "danish", "dutch", "english", "finnish", "french", "german",
    "greek", "hungarian", "indonesian", "italian", "norwegian", "portuguese", "romanian",
    "russian", "spanish", "swedish", "turkish",
]  # fmt: skip
DEFAULT_LANGUAGE: Language = "english"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day_only(value: object) -> object:
    # Pydantic would also read "0" or 1700000000 as a Unix timestamp; the document says
    # YYYY-MM-DD, so that is all that is accepted.
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


# The pattern states the year range in the OpenAPI document (JSON Schema has no bounds
# for dates); `ge`/`le` are what decides.
EntryDate = Annotated[
    dt.date,
    BeforeValidator(_iso_day_only),
    Field(
        ge=dt.date(1900, 1, 1),
        le=dt.date(2999, 12, 31),
        json_schema_extra={"pattern": r"^(19[0-9]{2}|2[0-9]{3})-[0-9]{2}-[0-9]{2}$"},
    ),
]

ENTRY_EXAMPLE: dict[str, Any] = {
    "id": "0b7e3f5a-4c2d-4f7e-9a1b-2c3d4e5f6a7b",
    "title": "A quiet morning",
    "content": "Walked by the river before work. The fog lifted around eight.",
    "topic_id": "5f0f7c1e-8a61-4c36-9a43-0d8c1f0a2b11",
    "tags": ["walks", "morning"],
    "mood": 1,
    "entry_date": "2026-11-20",
    "is_favorite": False,
    "word_count": 12,
    "language": "english",
    "created_at": "2026-11-20T07:45:12.345678Z",
    "updated_at": "2026-11-20T07:45:12.345678Z",
    "analysis": analysis_schema.ANALYSIS_EXAMPLE,
}


def normalise_tags(tags: list[str]) -> list[str]:
    """Trim, lower-case and de-duplicate tags (first occurrence wins), dropping empty ones.

    The limits were checked on the tags as sent (`RawTags`); this only shortens the list
    and the tags (bar the odd letter, such as "İ", that lower-cases to two characters).
    """
    return list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


def count_words(content: str) -> int:
    """Whitespace-separated words, the count shown as `word_count` and summed by insights."""
    return len(content.split())


class EntryCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "A quiet morning",
                    "content": "Walked by the river before work. The fog lifted around eight.",
                    "tags": ["Walks", "morning"],
                    "mood": 1,
                    "entry_date": "2026-11-20",
                }
            ]
        },
    )

    content: Content
    title: Title | None = None
    topic_id: uuid.UUID | None = Field(default=None, description="One of your own topics.")
    tags: RawTags = Field(default_factory=list)
    mood: Mood | None = None
    entry_date: EntryDate | None = Field(
        default=None, description="Defaults to today in your profile's timezone."
    )
    is_favorite: Annotated[bool, JsonBool] = False
    language: Language = Field(
        default=DEFAULT_LANGUAGE, description="Text-search language (stemming, stop words)."
    )

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, value: str) -> str:
        return text.reject_blank(value)

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, value: list[str]) -> list[str]:
        return normalise_tags(value)


# Fields that may be sent in a PATCH but never as null.
NOT_NULLABLE = ("content", "tags", "entry_date", "is_favorite", "language")


class EntryUpdate(BaseModel):
    """Only the fields sent are changed; `null` clears `title`, `topic_id` or `mood`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"mood": 2, "is_favorite": True, "tags": ["river"]}]},
    )

    # NOT_NULLABLE fields: optional but never null (SkipJsonSchema keeps the None that
    # only marks "not sent" out of the schema; `_not_null` refuses an explicit null).
    content: Content | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=text.omit_default
    )
    title: Title | None = None
    topic_id: uuid.UUID | None = None
    tags: RawTags | SkipJsonSchema[None] = Field(default=None, json_schema_extra=text.omit_default)
    mood: Mood | None = None
    entry_date: EntryDate | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=text.omit_default
    )
    is_favorite: Annotated[bool | SkipJsonSchema[None], JsonBool] = Field(
        default=None, json_schema_extra=text.omit_default
    )
    language: Language | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=text.omit_default
    )

    @field_validator(*NOT_NULLABLE)
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent, so this refuses an explicit null.
        if value is None:
            raise ValueError("cannot be null")
        return value

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, value: str) -> str:
        return text.reject_blank(value)

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, value: list[str]) -> list[str]:
        return normalise_tags(value)


class EntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [ENTRY_EXAMPLE]})

    id: uuid.UUID
    title: str | None
    content: str
    topic_id: uuid.UUID | None
    tags: list[str]
    mood: int | None
    entry_date: dt.date
    is_favorite: bool
    word_count: int
    language: str
    created_at: dt.datetime
    updated_at: dt.datetime
    analysis: analysis_schema.EntryAnalysisPublic | None = Field(
        description="What the model found; null until the entry (or its latest edit) "
        "has been analysed."
    )

    @field_validator("analysis", mode="before")
    @classmethod
    def _pending_is_null(cls, value: object) -> object:
        # A pending analysis (new entry, edited text, never analysed) is not shown.
        return None if getattr(value, "status", None) == "pending" else value


class EntriesPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [ENTRY_EXAMPLE], "next_cursor": "WyIyMDI2LTExLTIwIiwi..."}]
        }
    )

    items: list[EntryPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
