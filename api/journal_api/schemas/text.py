"""Text field types shared by the journal schemas (topics, entries, search).

PostgreSQL cannot store a NUL character in `text`, and a lone UTF-16 surrogate (which
JSON's `\\udXXX` escapes can smuggle in) cannot be encoded as UTF-8 at all; letting
either through would turn a client mistake into a 500, so every free-text field
rejects them up front and the 422 names the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

NUL = "\x00"


def reject_nul(value: str) -> str:
    """Refuse text PostgreSQL cannot store.

    Raises:
        ValueError: the text contains a NUL character or a lone surrogate.
    """
    if NUL in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def reject_blank(value: str) -> str:
    """Refuse text that is only whitespace.

    Raises:
        ValueError: nothing but whitespace.
    """
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# What `reject_nul` allows, stated in the OpenAPI document (the validator still decides).
NO_NUL = Field(json_schema_extra={"pattern": "^[^\\x00]*$"})
# Text that `reject_nul` and `reject_blank` both allow, stated likewise.
NOT_BLANK = Field(json_schema_extra={"pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$"})
# Storable text: no NUL characters.
PlainText = Annotated[str, AfterValidator(reject_nul), NO_NUL]
# A short label shown in lists (a topic name): trimmed, non-empty.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(reject_nul),
    NOT_BLANK,
]


def omit_default(schema: dict[str, Any]) -> None:
    """`json_schema_extra` for an optional, never-null field: its Python default (None,
    "not sent") is no value a client may send, so the schema does not show it."""
    schema.pop("default", None)
