"""The personal export: exactly the user's own data (entries with their analyses), no
secrets, an audit event; streamed, as one JSON document or as NDJSON; a few per window."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module
from journal_api.services import export as export_service
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.journal_api.conftest import MakeUser, TestUser, register_and_login
from tests.journal_api.test_security_tokens import serving

EXPORT = "/api/v1/users/me/export"


async def test_export_contains_exactly_the_users_data(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    api_settings: settings_module.Settings,
) -> None:
    owner, other = await make_user(timezone="Europe/Berlin"), await make_user()
    topic = (
        await client.post("/api/v1/topics", json={"name": "Mine"}, headers=owner.headers)
    ).json()
    entries = [
        (
            await client.post(
                "/api/v1/entries",
                json={"content": f"entry {n}", "topic_id": topic["id"], "tags": ["x"]},
                headers=owner.headers,
            )
        ).json()
        for n in range(3)
    ]
    await client.post("/api/v1/topics", json={"name": "Theirs"}, headers=other.headers)
    await client.post("/api/v1/entries", json={"content": "not yours"}, headers=other.headers)

    response = await client.get(EXPORT, headers=owner.headers)
    assert response.status_code == 200
    document = response.json()
    assert document["profile"]["id"] == str(owner.id)
    assert document["profile"]["email"] == owner.email
    assert document["profile"]["timezone"] == "Europe/Berlin"
    assert document["topics"] == [topic]
    assert sorted(document["entries"], key=lambda e: e["id"]) == sorted(
        entries, key=lambda e: e["id"]
    )
    raw = response.text
    assert "password" not in raw
    assert "hash" not in raw
    assert owner.refresh_token not in raw

    engine = create_async_engine(api_settings.database_url, poolclass=NullPool)
    async with engine.connect() as connection:
        events = await connection.scalar(
            text("SELECT count(*) FROM audit_events WHERE event_type = 'export' AND user_id = :id"),
            {"id": owner.id},
        )
    await engine.dispose()
    assert events == 1


async def test_export_of_another_user_holds_none_of_the_first_users_data(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    owner, other = await make_user(), await make_user()
    await client.post("/api/v1/entries", json={"content": "owner's secret"}, headers=owner.headers)
    document = (await client.get(EXPORT, headers=other.headers)).json()
    assert document["profile"]["id"] == str(other.id)
    assert (document["topics"], document["entries"]) == ([], [])
    assert "owner's secret" not in str(document)


async def test_export_requires_authentication(client: httpx.AsyncClient) -> None:
    assert (await client.get(EXPORT)).status_code == 401


async def _write_journal(
    client: httpx.AsyncClient, user: TestUser, *, entries: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    topic = (
        await client.post("/api/v1/topics", json={"name": "Streamed"}, headers=user.headers)
    ).json()
    written = []
    for n in range(entries):
        response = await client.post(
            "/api/v1/entries",
            json={"content": f"entry number {n}", "topic_id": topic["id"], "mood": n % 3 - 1},
            headers=user.headers,
        )
        assert response.status_code == 201
        written.append(response.json())
    return topic, written


async def test_ndjson_export_has_one_object_per_line_and_ends_with_the_counts(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    topic, written = await _write_journal(client, user, entries=3)
    response = await client.get(EXPORT, headers={**user.headers, "Accept": "application/x-ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["type"] for line in lines] == ["profile", "topic", *["entry"] * 3, "end"]
    assert lines[0]["profile"]["id"] == str(user.id)
    assert lines[1]["topic"] == topic
    entries = [line["entry"] for line in lines if line["type"] == "entry"]
    # Each entry as the API shows it, analysis included (null while pending).
    assert sorted(entries, key=lambda e: e["id"]) == sorted(written, key=lambda e: e["id"])
    assert all("analysis" in entry for entry in entries)
    assert lines[-1] == {"type": "end", "topics": 1, "entries": 3}


async def test_export_is_sent_in_pieces_as_it_is_read(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    """The body leaves in several messages while the entries are read, not as one block
    built in memory first (driven at the ASGI level: httpx's transport would join them)."""
    user = await make_user()
    entries = 2 * export_service.BATCH + 10
    async with app.state.sessionmaker() as session:
        # Written straight to the table: hundreds of API writes would only slow this down.
        await session.execute(
            text(
                "INSERT INTO entries (id, user_id, content, entry_date, word_count) "
                "SELECT gen_random_uuid(), :user_id, 'bulk entry ' || n, DATE '2026-01-01' + n, 2 "
                "FROM generate_series(1, :n) AS n"
            ),
            {"user_id": user.id, "n": entries},
        )
        await session.commit()
    messages: list[dict[str, Any]] = []

    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": EXPORT,
        "raw_path": EXPORT.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", user.headers["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    [start] = [m for m in messages if m["type"] == "http.response.start"]
    assert start["status"] == 200
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert len([b for b in bodies if b.get("body")]) >= 3
    document = json.loads(b"".join(b.get("body", b"") for b in bodies))
    assert len(document["entries"]) == entries
    assert [e["content"] for e in document["entries"]][:2] == ["bulk entry 1", "bulk entry 2"]


async def test_exports_beyond_the_limit_are_429_with_retry_after(
    api_settings: settings_module.Settings,
) -> None:
    settings = api_settings.model_copy(update={"export_max_per_window": 2})
    async with serving(settings) as limited:
        user, other = await register_and_login(limited), await register_and_login(limited)
        answers = [(await limited.get(EXPORT, headers=user.headers)) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= settings.export_window_seconds
        assert "export limit" in refused.json()["detail"]
        # The limit is per user.
        assert (await limited.get(EXPORT, headers=other.headers)).status_code == 200
