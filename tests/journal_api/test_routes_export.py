"""The personal export: exactly the user's own data, no secrets, and an audit event."""

from __future__ import annotations

import httpx
from journal_api import settings as settings_module
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.journal_api.conftest import MakeUser

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
