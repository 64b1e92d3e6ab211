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
import datetime as dt
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from journal_api import keys, main
from journal_api import settings as settings_module
from journal_api.repositories import entries as entries_repo
from journal_api.routes import entries as entries_route
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from tests.journal_api.conftest import MakeUser

MAX_EXAMPLES = 100
KEYSETS = st.builds(
    entries_repo.Keyset,
    entry_date=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2999, 12, 31)),
    created_at=st.datetimes(timezones=st.just(dt.UTC)),
    id=st.uuids(),
)
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
        # Every check schemathesis registers (checks=None means all of them), bar the
        # server-error check for the documented 503 asserted above.
        excluded = [not_a_server_error] if needs_model else None
        case.validate_response(response, headers=headers, excluded_checks=excluded)

    check()


def unlimited(settings: settings_module.Settings) -> settings_module.Settings:
    """``settings`` with every rate limit and per-user quota out of the fuzzer's reach."""
    raised = {
        name: 1_000_000
        for name in type(settings).model_fields
        if name.startswith(("rate_limit_per", "rate_limit_auth", "quota_max", "export_max"))
    }
    return settings.model_copy(update=raised)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
async def test_api_conforms_to_its_openapi_document(
    api_settings: settings_module.Settings, make_user: MakeUser, mode: GenerationMode
) -> None:
    user = await make_user()
    settings = unlimited(api_settings)
    cursor_key = keys.derive(settings, keys.CURSOR)
    schemathesis.openapi.format(
        entries_route.CURSOR_FORMAT, KEYSETS.map(lambda keyset: keyset.encode(cursor_key))
    )
    # Addresses on real domains: email-validator (rightly) refuses special-use names such
    # as `.local`, which `format: email` by itself does not exclude. Lower-cased, because
    # schemathesis' own validator (jsonschema-rs) refuses an upper-case punycode label
    # (`a@b.XN--TCKWE`) that DNS and the API accept: a negative case breaking only the
    # password would then count as valid data accepted.
    schemathesis.openapi.format("email", st.emails().map(str.lower))
    # Its own app: schemathesis drives it on its own event-loop thread, lifespan included.
    app: FastAPI = main.create_app(settings)
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
