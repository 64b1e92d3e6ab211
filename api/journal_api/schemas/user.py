"""Pydantic I/O for accounts: the public profile and the profile update.

Shared validators (email normalisation, IANA time zones, password strength, no control
characters) live here and are reused by `schemas/auth.py`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

PASSWORD_MIN_LENGTH = 12
PASSWORD_RULE = (
    f"at least {PASSWORD_MIN_LENGTH} characters, with at least one letter and one digit or symbol"
)


def _valid_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}, e.g. 'Europe/Berlin'") from exc
    return value


def _no_control_characters(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and control characters in names are never intended.
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must not contain control characters")
    return value.strip()


def no_nul(value: str) -> str:
    """Reject NUL, which PostgreSQL text cannot store or compare against."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# The rule as a pattern, so the OpenAPI document states it exactly; the check below is
# the same expression, so the document and the server never disagree on a password.
_LETTER, _OTHER = r"[^\W\d_]", r"[\W\d_]"
PASSWORD_PATTERN = rf"^(?=[\s\S]*{_LETTER})(?=[\s\S]*{_OTHER})"


def _strong_password(value: str) -> str:
    has_letter = re.search(_LETTER, value) is not None
    has_other = re.search(_OTHER, value) is not None
    if len(value) < PASSWORD_MIN_LENGTH or not (has_letter and has_other):
        raise ValueError(f"password too weak: needs {PASSWORD_RULE}")
    return value


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, AfterValidator(_lower), Field(max_length=320)]
# The schema lists the zones by name, so a client (or a fuzzer) knows which strings are
# valid; the validator is still what decides.
TIME_ZONES = sorted(zoneinfo.available_timezones())
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"enum": TIME_ZONES}),
    AfterValidator(_valid_timezone),
]
DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$"),
    AfterValidator(_no_control_characters),
]
NewPassword = Annotated[
    str,
    Field(
        max_length=1024,
        json_schema_extra={"minLength": PASSWORD_MIN_LENGTH, "pattern": PASSWORD_PATTERN},
    ),
    AfterValidator(_strong_password),
]


class UserPublic(BaseModel):
    """What anyone may see about an account: never the password hash."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "8d3f2c1e-6d8b-4d5e-9a43-2b1f0c7e9a10",
                    "email": "ada@example.com",
                    "display_name": "Ada",
                    "timezone": "Europe/London",
                    "created_at": "2026-01-02T03:04:05Z",
                }
            ]
        },
    )

    id: uuid.UUID
    email: str
    display_name: str | None
    timezone: str
    created_at: dt.datetime


class UserUpdate(BaseModel):
    """PATCH /users/me: change any subset; a new password needs the current one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"display_name": "Ada L.", "timezone": "America/New_York"},
                {"current_password": "old-password-42", "new_password": "a much better one 7"},
            ]
        },
    )

    display_name: DisplayName | None = None
    timezone: TimeZone | None = None
    current_password: str | None = Field(default=None, max_length=1024)
    new_password: NewPassword | None = None


class AccountDeletion(BaseModel):
    """DELETE /users/me: the current password confirms it (a stolen access token cannot)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"current_password": "correct horse battery 9"}]},
    )

    current_password: str = Field(min_length=1, max_length=1024)


class AuthUser(BaseModel):
    """The signed-in user as `deps.CurrentUser` gives it: the profile plus the token cut-off.

    Cached per user in Redis (`clients/auth_cache.py`), so it holds exactly what
    authentication and the routes read, and never the password hash.
    """

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    email: str
    display_name: str | None
    timezone: str
    created_at: dt.datetime
    # Access tokens issued before this instant are refused (logout-all, password change).
    tokens_valid_after: dt.datetime
    # Sessions (`sid`) ended lately (logout, refresh-token reuse): their access tokens are
    # refused before they expire.
    revoked_sessions: list[uuid.UUID] = []
