"""Stateful run of schemathesis over the app's own OpenAPI document: sequences of calls
that follow the document's links.

The stateless run (`test_openapi_fuzzing.py`) calls each operation with generated input,
so a path's id is random and mostly answers 404. Here schemathesis' state machine feeds
what one response returns into the next request: a created topic's `id` to reading,
renaming, deleting and filtering the list by it, and to writing an entry under it (the
document's `CreateEntryInTopic` link); an entry's `id`, from its creation, the list, the
export or a search, to reading, changing and deleting it and to its similar entries and
suggestions. `MAX_EXAMPLES` scenarios of up to `STEPS` calls each, mostly
schema-conforming input with some violating it, go through every check schemathesis has
(`--checks all`), as in the stateless run; those that need a history run too: a resource
just created is found (`ensure_resource_availability`), a deleted one is gone
(`use_after_free`). (`object_level_authorization` needs several configured identities and
stays idle; the route tests show another user's resource answers like a missing one.)
Every rate limit is raised, the same operations are left out, and what needs the model
server may answer its documented 503. The run must reach real resources (`REACHED`), or
it would pass without testing what it is for.

Each scenario starts as a fresh user holding one topic with one entry in it. Hypothesis
builds scenarios by replaying and extending the choices of earlier ones, and the state
machine's choices depend on earlier responses: which rules have a response to follow,
whether a link finds an id in it. With state carried from one scenario to the next (one
user for the whole run, collecting topics and entries), the same choices meet other
responses and hypothesis stops with `FlakyStrategyDefinition`. So every scenario sees the
same state, and the registered formats are pure functions of the draw (`fuzzing.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from journal_api import main
from journal_api import settings as settings_module
from schemathesis import BaseSchema, Case, Response
from schemathesis.checks import CheckFunction, not_a_server_error

from tests.journal_api.conftest import MakeUser
from tests.journal_api.fuzzing import (
    NEEDS_MODEL_SERVER,
    SKIPPED,
    register_formats,
    schemathesis_config,
    unlimited,
)

MAX_EXAMPLES = 100
STEPS = 20
TOPICS, ENTRIES = "/api/v1/topics", "/api/v1/entries"
# Operations that answered a success at least once: the links reached real resources.
REACHED = {
    ("POST", ENTRIES),
    ("GET", f"{ENTRIES}/{{entry_id}}"),
    ("PATCH", f"{ENTRIES}/{{entry_id}}"),
    ("DELETE", f"{ENTRIES}/{{entry_id}}"),
    ("GET", f"{TOPICS}/{{topic_id}}"),
    ("PATCH", f"{TOPICS}/{{topic_id}}"),
    ("DELETE", f"{TOPICS}/{{topic_id}}"),
}


@pytest.mark.slow
async def test_linked_calls_conform_to_the_openapi_document(
    api_settings: settings_module.Settings, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    settings = unlimited(api_settings)
    register_formats(settings)
    # Its own app: schemathesis drives it on its own event-loop thread, lifespan included.
    app: FastAPI = main.create_app(settings)
    schema: BaseSchema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=schemathesis_config()
    )
    for method, path in SKIPPED:
        schema = schema.exclude(method=method, path=path)
    loop = asyncio.get_running_loop()
    succeeded: set[tuple[str, str]] = set()

    async def fresh_user() -> dict[str, str]:
        user = await make_user()
        topic = await client.post(TOPICS, json={"name": "Walks"}, headers=user.headers)
        body = {"content": "By the river.", "topic_id": topic.json()["id"]}
        entry = await client.post(ENTRIES, json=body, headers=user.headers)
        assert (topic.status_code, entry.status_code) == (201, 201), entry.text
        return user.headers

    class Scenario(schema.as_state_machine()):  # type: ignore[misc]
        headers: dict[str, str]

        def setup(self) -> None:
            # The machine runs on a worker thread; the fixtures' client lives on this loop.
            self.headers = asyncio.run_coroutine_threadsafe(fresh_user(), loop).result()

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"headers": self.headers}

        def after_call(self, response: Response, case: Case[Any]) -> None:
            super().after_call(response, case)
            if response.status_code < 300:
                succeeded.add((case.method.upper(), case.path))

        def validate_response(
            self,
            response: Response,
            case: Case[Any],
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            # 503 is the documented answer of what needs the model server while none
            # answers (this app is configured without one); every other check still runs.
            needs_model = case.formatted_path in NEEDS_MODEL_SERVER and response.status_code == 503
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=[not_a_server_error] if needs_model else None,
                headers=self.headers,
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    run = hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        # Generation only, as schemathesis runs its state machines: shrinking would replay
        # hundreds of scenarios against the app after a failure.
        phases=[Phase.generate],
    )
    await asyncio.to_thread(Scenario.run, settings=run)
    assert succeeded >= REACHED, f"never succeeded: {sorted(REACHED - succeeded)}"
