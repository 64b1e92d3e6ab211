"""Property-based run of schemathesis over the app's own OpenAPI document.

Every operation is called with generated inputs, schema-conforming ones and violating
ones, as an authenticated user. No response may be a 5xx (bar the documented 503 of
what needs the model server, which this app is not given),
and every response must match what the document declares: status code, content type,
headers and body schema.

(schemathesis' `from_fixture` pytest integration does not run on pytest 9, so
each operation's strategy is driven through hypothesis directly.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from journal_api import main
from journal_api import settings as settings_module
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.journal_api.conftest import MakeUser

MAX_EXAMPLES = 25
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# These end the fuzzing user's session or account, after which every later call would
# only exercise the 401 path; explicit tests cover them.
SKIPPED = {("DELETE", "/api/v1/users/me"), ("POST", "/api/v1/auth/logout-all")}
# Semantic search, and suggestions (screened by the model first), need the model server.
NEEDS_MODEL_SERVER = {"/api/v1/search", "/api/v1/insights/suggestions"}


def _exercise(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        # 503 is the documented answer of what needs the model server while none answers
        # (this app is configured without one).
        needs_model = case.formatted_path in NEEDS_MODEL_SERVER and response.status_code == 503
        assert response.status_code < 500 or needs_model, (
            f"{response.status_code} for {case.method} {case.formatted_path}: {response.text}"
        )
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
async def test_api_conforms_to_its_openapi_document(
    api_settings: settings_module.Settings, make_user: MakeUser, mode: GenerationMode
) -> None:
    user = await make_user()
    # Its own app: schemathesis drives it on its own event-loop thread, lifespan included.
    app: FastAPI = main.create_app(api_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) >= 8
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        try:
            await asyncio.to_thread(_exercise, operation, mode, user.headers)
        except hypothesis.errors.Unsatisfiable:
            # No parameters to break: nothing negative exists for this operation.
            assert mode is GenerationMode.NEGATIVE
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
