"""RFC 9457 problem details: the one place exceptions become HTTP error responses.

Routes and dependencies raise the `ProblemError` subclasses below (their docstrings name
the status); `install(app)` maps those, Starlette's HTTP errors (404, 405, ...),
request validation errors, database outages and anything unexpected to
`application/problem+json` bodies. `PROBLEM_RESPONSES`/`responses()` document them in
OpenAPI.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Where `create_app` keeps `method_table(...)` in `app.state`.
METHODS_KEY = "route_methods"
# FastAPI's detail when a body cannot be decoded at all; we answer it as a 422.
_FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"
logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One offending input: where it is, and what is wrong with it."""

    loc: list[str | int] = Field(examples=[["body", "email"]])
    field: str = Field(examples=["email"])
    message: str = Field(examples=["value is not a valid email address"])
    type: str = Field(examples=["value_error"])


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "entry not found",
                    "instance": "/api/v1/entries/0b9c…",
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Base for errors that carry their HTTP meaning; raise a subclass."""

    status: int = 500

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] | None = None,  # names the offending fields
    ):
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None


class BadRequest(ProblemError):  # noqa: N818 (named after the HTTP status)
    """400: the request is well-formed but cannot be acted upon."""

    status = 400


class Unauthorized(ProblemError):  # noqa: N818 (named after the HTTP status)
    """401: missing, expired or otherwise invalid credentials."""

    status = 401

    def __init__(self, detail: str | None = "invalid or missing credentials") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ProblemError):  # noqa: N818 (named after the HTTP status)
    """403: authenticated, but not allowed."""

    status = 403


class NotFound(ProblemError):  # noqa: N818 (named after the HTTP status)
    """404: missing, or owned by someone else (indistinguishable on purpose)."""

    status = 404


class Conflict(ProblemError):  # noqa: N818 (named after the HTTP status)
    """409: clashes with existing state (duplicate email, duplicate topic name)."""

    status = 409


class UnsupportedMediaType(ProblemError):  # noqa: N818 (named after the HTTP status)
    """415: the body's Content-Type is not one the operation accepts."""

    status = 415


class UnprocessableContent(ProblemError):  # noqa: N818 (named after the HTTP status)
    """422: semantically invalid input not caught by the schema (weak password)."""

    status = 422


class TooManyRequests(ProblemError):  # noqa: N818 (named after the HTTP status)
    """429: rate limited or account temporarily locked; carries Retry-After."""

    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class NotImplementedYet(ProblemError):  # noqa: N818 (named after the HTTP status)
    """501: a documented feature that this deployment does not offer yet."""

    status = 501


class ServiceUnavailable(ProblemError):  # noqa: N818 (named after the HTTP status)
    """503: a dependency (the database) is unreachable; retry shortly."""

    status = 503


def problem_response(
    *,
    status: int,
    detail: str | None = None,
    request: Request | None = None,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[FieldError] | None = None,
) -> JSONResponse:
    """Build the problem+json response every error handler returns."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    problem = Problem(
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        request_id=request.scope.get("request_id") if request is not None else None,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    result = []
    for error in exc.errors():
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        names = [str(part) for part in loc[1:] if isinstance(part, str)]
        field = ".".join(names) or (str(loc[0]) if loc else "request")
        result.append(
            FieldError(
                loc=loc,
                field=field,
                message=str(error.get("msg", "invalid")),
                type=str(error.get("type", "value_error")),
            )
        )
    return result


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        status=exc.status,
        detail=exc.detail,
        request=request,
        headers=exc.headers,
        errors=exc.errors,
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 400 and detail == _FASTAPI_BODY_PARSE_ERROR:
        # A body that is not even text (invalid UTF-8): malformed input, like bad JSON.
        error = FieldError(
            loc=["body"], field="body", message="unreadable body", type="body_invalid"
        )
        return problem_response(
            status=422, detail="invalid input: body", request=request, errors=[error]
        )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(status=exc.status_code, detail=detail, request=request, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, for a 405's `Allow`.

    Starlette's own `Allow` names only the methods of the first route whose path matched,
    while one path is usually several routes here (GET, PATCH and DELETE of an entry).
    """
    table: list[tuple[re.Pattern[str], set[str]]] = getattr(request.app.state, METHODS_KEY, [])
    path = request.url.path
    return sorted({m for regex, methods in table if regex.match(path) for m in methods})


def method_table(routers: Sequence[APIRouter]) -> list[tuple[re.Pattern[str], set[str]]]:
    """Each route's path pattern and methods, for `allowed_methods`;
    `create_app` keeps it in `app.state`."""
    table = []
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.methods:
                table.append((route.path_regex, set(route.methods)))
    return table


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    fields = ", ".join(sorted({error.field for error in errors}))
    return problem_response(
        status=422, detail=f"invalid input: {fields}", request=request, errors=errors
    )


def _sqlstate(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # SQLSTATE class 22 (data exception: a NUL byte in text, a number out of range) is
    # the client's input; class 23 is a constraint clash; a lost connection, a refused
    # one or a pool timeout means "try again"; anything else is our bug (500).
    sqlstate = _sqlstate(exc)
    if isinstance(exc, sa_exc.DataError) or sqlstate.startswith("22"):
        return problem_response(status=422, detail="invalid data for storage", request=request)
    if isinstance(exc, sa_exc.IntegrityError) or sqlstate.startswith("23"):
        return problem_response(status=409, detail="conflicts with existing data", request=request)
    unavailable = (
        isinstance(exc, OSError | sa_exc.TimeoutError)
        or getattr(exc, "connection_invalidated", False)
        or sqlstate[:2] in {"08", "53", "57"}
        or (isinstance(exc, sa_exc.DBAPIError) and not sqlstate)
    )
    if not unavailable:
        logger.error("database error", exc_info=exc)
        return problem_response(status=500, detail="internal error", request=request)
    logger.warning("database unavailable", extra={"error": type(exc).__name__})
    return problem_response(
        status=503,
        detail="the database is unavailable, retry shortly",
        request=request,
        headers={"Retry-After": "1"},
    )


def install(app: FastAPI) -> None:
    """Register every problem+json handler on ``app``."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(sa_exc.DBAPIError, _on_database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _on_database_error)
    # asyncpg raises plain OSErrors (connection refused, connect timeout) while
    # PostgreSQL restarts; SQLAlchemy does not wrap them.
    app.add_exception_handler(OSError, _on_database_error)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem bodies for ``statuses``."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }


# Every route can answer these; `create_app` passes them to FastAPI(responses=...).
PROBLEM_RESPONSES = responses(413, 422, 429, 500, 503)


def problems_as_problem_json(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI document so every 4xx/5xx response is `application/problem+json`.

    FastAPI documents `responses=` models under `application/json` and adds its own
    `HTTPValidationError` for 422; our handlers send `Problem` as problem+json.
    """
    ref = {"$ref": "#/components/schemas/Problem"}
    ours = {"#/components/schemas/" + name for name in ("Problem", "HTTPValidationError")}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                json_schema = response.get("content", {}).get("application/json", {}).get("schema")
                # A route may document its own error body (503 from /readyz): keep that.
                is_problem = json_schema is None or json_schema.get("$ref") in ours
                if status.isdigit() and int(status) >= 400 and is_problem:
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": ref}}
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return jsonable_encoder(schema)  # type: ignore[no-any-return]
