"""Pydantic I/O for `/api/v1/auth/*`: registration, login, token pairs, refresh, logout."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from journal_api.schemas import text
from journal_api.schemas import user as user_schemas


class RegisterRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery 9",
                    "display_name": "Ada",
                    "timezone": "Europe/London",
                }
            ]
        },
    )

    email: user_schemas.Email
    password: user_schemas.NewPassword = Field(description=f"Needs {user_schemas.PASSWORD_RULE}.")
    display_name: user_schemas.DisplayName | None = None
    timezone: user_schemas.TimeZone = "UTC"


REGISTRATION_ACCEPTED = (
    "registration accepted: log in with this email and password. If the email already "
    "had an account, that account is unchanged and its owner is told."
)


class RegistrationAccepted(BaseModel):
    """The same answer for a new and an already registered email (no enumeration)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "detail": REGISTRATION_ACCEPTED}]
        }
    )

    email: str
    detail: str = REGISTRATION_ACCEPTED


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery 9"}]
        }
    )

    # Not validated as an email: a malformed address simply fails to log in (same 401).
    email: Annotated[
        str,
        Field(min_length=1, max_length=320),
        AfterValidator(user_schemas.no_nul),
        text.NO_NUL,
    ]
    password: str = Field(min_length=1, max_length=1024)


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0…",
                    "refresh_token": "Jd3k…",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type)
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "Jd3k…"}]})

    refresh_token: Annotated[
        str, Field(min_length=1, max_length=256), AfterValidator(user_schemas.no_nul), text.NO_NUL
    ]
