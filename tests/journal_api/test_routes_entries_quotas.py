"""Per-user quotas on what an account keeps: entries, and characters of text.

- the write past a quota is a 403 problem saying which quota (and naming `content` for
  text); deleting or shortening makes room again; other users are not affected;
- concurrent writes cannot both take the last place (the usage row is locked);
- `entry_usage`, kept by a trigger, always equals a recount of the entries.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from journal_api import settings as settings_module
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.journal_api.conftest import TestUser, register_and_login
from tests.journal_api.test_security_tokens import serving

ENTRIES = "/api/v1/entries"


async def write(client: httpx.AsyncClient, user: TestUser, content: str) -> httpx.Response:
    return await client.post(ENTRIES, json={"content": content}, headers=user.headers)


async def usage_and_recount(
    settings: settings_module.Settings, user_id: uuid.UUID
) -> tuple[tuple[int, int], tuple[int, int]]:
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            kept = (
                await connection.execute(
                    text("SELECT entries, text_chars FROM entry_usage WHERE user_id = :u"),
                    {"u": user_id},
                )
            ).one()
            recount = (
                await connection.execute(
                    text(
                        "SELECT count(*), coalesce(sum(length(coalesce(title, '')) "
                        "+ length(content)), 0) FROM entries WHERE user_id = :u"
                    ),
                    {"u": user_id},
                )
            ).one()
    finally:
        await engine.dispose()
    return (int(kept[0]), int(kept[1])), (int(recount[0]), int(recount[1]))


async def test_the_entry_past_the_quota_is_a_403_until_one_is_deleted(
    api_settings: settings_module.Settings,
) -> None:
    settings = api_settings.model_copy(update={"quota_max_entries": 3})
    async with serving(settings) as client:
        user, other = await register_and_login(client), await register_and_login(client)
        created = [await write(client, user, f"entry {n}") for n in range(3)]
        assert [r.status_code for r in created] == [201, 201, 201]
        refused = await write(client, user, "one too many")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "entry quota" in refused.json()["detail"]
        assert "3 entries" in refused.json()["detail"]
        assert (await write(client, other, "someone else's first")).status_code == 201
        first = created[0].json()["id"]
        assert (await client.delete(f"{ENTRIES}/{first}", headers=user.headers)).status_code == 204
        assert (await write(client, user, "room again")).status_code == 201


async def test_text_past_the_quota_is_a_403_naming_content(
    api_settings: settings_module.Settings,
) -> None:
    settings = api_settings.model_copy(update={"quota_max_text_chars": 100})
    async with serving(settings) as client:
        user = await register_and_login(client)
        kept = await write(client, user, "a" * 60)
        assert kept.status_code == 201
        refused = await write(client, user, "b" * 41)
        assert refused.status_code == 403
        problem = refused.json()
        assert "text quota" in problem["detail"]
        assert [error["field"] for error in problem["errors"]] == ["content"]
        assert (await write(client, user, "c" * 40)).status_code == 201  # exactly 100
        path = f"{ENTRIES}/{kept.json()['id']}"
        grown = await client.patch(path, json={"title": "t"}, headers=user.headers)
        assert grown.status_code == 403
        assert [error["field"] for error in grown.json()["errors"]] == ["content"]
        shorter = await client.patch(path, json={"content": "a" * 10}, headers=user.headers)
        assert shorter.status_code == 200
        titled = await client.patch(path, json={"title": "fits now"}, headers=user.headers)
        assert titled.status_code == 200
        assert (await client.patch(path, json={"mood": 1}, headers=user.headers)).status_code == 200
    kept_usage, recount = await usage_and_recount(settings, user.id)
    assert kept_usage == recount == (2, 10 + len("fits now") + 40)


async def test_concurrent_writes_cannot_both_take_the_last_place(
    api_settings: settings_module.Settings,
) -> None:
    settings = api_settings.model_copy(update={"quota_max_entries": 5})
    async with serving(settings) as client:
        user = await register_and_login(client)
        answers = await asyncio.gather(*(write(client, user, f"racing {n}") for n in range(12)))
        statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 5 + [403] * 7
    kept_usage, recount = await usage_and_recount(settings, user.id)
    assert kept_usage == recount
    assert kept_usage[0] == 5
