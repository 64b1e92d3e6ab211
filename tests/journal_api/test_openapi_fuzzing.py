"""Property-based run of schemathesis over the app's own OpenAPI document.

Every operation is called with at least `MAX_EXAMPLES` generated inputs, schema-conforming
ones and violating ones, as an authenticated user, and every response goes through every
check schemathesis has (`--checks all`): no 5xx (bar the documented 503 of what needs the
model server, which this app is not given), no schema-valid request rejected, no invalid
one accepted, a correct `Allow` on a 405, and status code, content type, headers and body
exactly as the document declares. Every rate limit is raised for the run, so no 429 hides
an answer. List cursors (`format: journal-cursor`) are generated as the API signs them:
a client can only send back one it was given.

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
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from tests.journal_api.conftest import MakeUser
from tests.journal_api.fuzzing import (
    NEEDS_MODEL_SERVER,
    SKIPPED,
    register_formats,
    schemathesis_config,
    unlimited,
)

MAX_EXAMPLES = 100


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
        # Every check schemathesis registers (checks=None means all of them), bar the
        # server-error check for the documented 503 asserted above.
        excluded = [not_a_server_error] if needs_model else None
        case.validate_response(response, headers=headers, excluded_checks=excluded)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
async def test_api_conforms_to_its_openapi_document(
    api_settings: settings_module.Settings, make_user: MakeUser, mode: GenerationMode
) -> None:
    user = await make_user()
    settings = unlimited(api_settings)
    register_formats(settings)
    # Its own app: schemathesis drives it on its own event-loop thread, lifespan included.
    app: FastAPI = main.create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=schemathesis_config())
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
