"""Every error is an RFC 9457 problem: unknown paths, wrong methods, invalid and malformed
bodies, oversized bodies (by header and by streaming), with the request id echoed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from journal_api import settings as settings_module

PROBLEM = "application/problem+json"
REGISTER = "/api/v1/auth/register"


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == "Not Found"
    assert response.json()["instance"] == "/api/v1/nothing-here"


async def test_wrong_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/auth/login")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/entries/00000000-0000-0000-0000-000000000000", "DELETE, GET, PATCH"),
        ("/api/v1/entries", "GET, POST"),
        ("/api/v1/users/me", "DELETE, GET, PATCH"),
        ("/api/v1/auth/login", "POST"),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    for method in ("PUT", "OPTIONS", "TRACE"):
        response = await client.request(method, path)
        assert response.status_code == 405
        assert response.headers["allow"] == allowed, method


async def test_validation_errors_name_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json={"email": "not-an-email", "password": 5})
    assert response.status_code == 422
    problem = response.json()
    assert {error["field"] for error in problem["errors"]} == {"email", "password"}
    assert problem["errors"][0]["loc"][0] == "body"


async def test_missing_fields_are_named(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json={})
    assert {error["field"] for error in response.json()["errors"]} == {"email", "password"}


async def test_malformed_json_is_a_422_naming_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER, content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "body"


async def test_oversized_body_by_content_length_is_413(
    client: httpx.AsyncClient, api_settings: settings_module.Settings
) -> None:
    body = b"x" * (api_settings.max_body_bytes + 1)
    response = await client.post(
        REGISTER, content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_oversized_streamed_body_is_413_without_content_length(
    client: httpx.AsyncClient, api_settings: settings_module.Settings
) -> None:
    chunk = b" " * 65536
    chunks = api_settings.max_body_bytes // len(chunk) + 2

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    response = await client.post(
        REGISTER, content=stream(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"


async def test_request_id_is_generated_and_put_in_problems(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    assert response.json()["request_id"] == request_id


async def test_openapi_documents_problem_bodies(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    register = schema["paths"][REGISTER]["post"]
    assert register["operationId"] == "auth-register"
    # Registration never answers 409 (it would reveal the account); 429 is a problem body.
    assert "409" not in register["responses"]
    limited = register["responses"]["429"]["content"]
    assert limited == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert (await client.get("/docs")).status_code == 200
