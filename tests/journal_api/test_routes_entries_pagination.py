"""Keyset pagination of `GET /entries`: every matching entry exactly once, in order,
whatever the page size and filters."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.journal_api.conftest import MakeUser, TestUser

ENTRIES = "/api/v1/entries"
# (entry_date, tags, mood, favorite): several entries share a date, to exercise ties.
ROWS = [
    ("2026-01-01", ["work"], -2, False),
    ("2026-01-02", ["home"], -1, True),
    ("2026-01-02", ["work", "home"], 0, False),
    ("2026-01-02", ["work"], 1, True),
    ("2026-01-03", [], None, False),
    ("2026-01-04", ["work"], 2, True),
    ("2026-01-04", ["home"], 2, False),
    ("2026-01-05", ["work"], 1, False),
    ("2026-01-06", ["home"], -1, True),
    ("2026-01-07", ["work"], 0, False),
]


async def seed(client: httpx.AsyncClient, user: TestUser) -> list[dict[str, Any]]:
    created = []
    for index, (day, tags, mood, favorite) in enumerate(ROWS):
        body = {"content": f"entry {index}", "entry_date": day, "tags": tags, "mood": mood}
        body["is_favorite"] = favorite
        response = await client.post(ENTRIES, json=body, headers=user.headers)
        assert response.status_code == 201
        created.append(response.json())
    return created


async def walk(
    client: httpx.AsyncClient, user: TestUser, params: dict[str, Any]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(len(ROWS) + 2):
        page_params = dict(params, **({"cursor": cursor} if cursor else {}))
        response = await client.get(ENTRIES, params=page_params, headers=user.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params.get("limit", 20)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not terminate")


def newest_first(entries: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(
        entries, key=lambda e: (e["entry_date"], e["created_at"], e["id"]), reverse=True
    )
    return [e["id"] for e in ordered]


async def test_pages_walk_every_entry_once_newest_first(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    created = await seed(client, user)
    for limit in (1, 3, 10, 100):
        items = await walk(client, user, {"limit": limit})
        assert [e["id"] for e in items] == newest_first(created), limit


async def test_pages_walk_filtered_entries_once(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    created = await seed(client, user)
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"tag": "WORK"}, lambda e: "work" in e["tags"]),
        (
            {"from": "2026-01-02", "to": "2026-01-04"},
            lambda e: "2026-01-02" <= e["entry_date"] <= "2026-01-04",
        ),
        ({"favorite": "true"}, lambda e: e["is_favorite"]),
        ({"favorite": "false"}, lambda e: not e["is_favorite"]),
        ({"mood_min": 0, "mood_max": 1}, lambda e: e["mood"] is not None and 0 <= e["mood"] <= 1),
        (
            {"tag": "home", "mood_min": -1, "from": "2026-01-02"},
            lambda e: (
                "home" in e["tags"]
                and e["mood"] is not None
                and e["mood"] >= -1
                and e["entry_date"] >= "2026-01-02"
            ),
        ),
    ]
    for params, keep in cases:
        expected = newest_first([e for e in created if keep(e)])
        assert expected, params
        items = await walk(client, user, {**params, "limit": 2})
        assert [e["id"] for e in items] == expected, params


async def test_topic_filter_lists_only_that_topics_entries(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    topic = (await client.post("/api/v1/topics", json={"name": "T"}, headers=user.headers)).json()
    inside = await client.post(
        ENTRIES, json={"content": "in", "topic_id": topic["id"]}, headers=user.headers
    )
    await client.post(ENTRIES, json={"content": "out"}, headers=user.headers)
    items = await walk(client, user, {"topic_id": topic["id"]})
    assert [e["id"] for e in items] == [inside.json()["id"]]


async def test_an_entry_added_while_paging_is_neither_skipped_nor_repeated(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    created = await seed(client, user)
    first = (await client.get(ENTRIES, params={"limit": 4}, headers=user.headers)).json()
    # Newer than everything: belongs before the first page, so must not appear later.
    await client.post(
        ENTRIES, json={"content": "late", "entry_date": "2026-02-01"}, headers=user.headers
    )
    rest = await walk(client, user, {"limit": 4, "cursor": first["next_cursor"]})
    seen = [e["id"] for e in first["items"] + rest]
    assert seen == newest_first(created)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Cursors a client could make up: well-formed JSON of the old unsigned layout with the
# wrong types (this one answered 500), a plausible keyset, and garbage.
FORGED_PAYLOADS = [
    b'["2024-01-01","2024-01-01T00:00:00+00:00",1]',
    b'["2024-01-01","2024-01-01T00:00:00+00:00","00000000-0000-0000-0000-000000000000"]',
    b'{"a": [1, 2]}',
    b"\xff\xfe",
]


@pytest.mark.parametrize("payload", FORGED_PAYLOADS)
async def test_a_forged_cursor_is_a_422_naming_cursor(
    client: httpx.AsyncClient, make_user: MakeUser, payload: bytes
) -> None:
    user = await make_user()
    await seed(client, user)
    for cursor in (_b64(payload), f"{_b64(payload)}.{_b64(b'0' * 16)}"):
        response = await client.get(ENTRIES, params={"cursor": cursor}, headers=user.headers)
        assert response.status_code == 422, (cursor, response.text)
        assert [error["field"] for error in response.json()["errors"]] == ["cursor"]


async def test_a_cursor_with_its_keyset_changed_is_refused(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await seed(client, user)
    first = (await client.get(ENTRIES, params={"limit": 3}, headers=user.headers)).json()
    encoded, signature = first["next_cursor"].split(".")
    keyset = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    keyset[0] = "2999-12-31"  # skip ahead: only a cursor the API signed may say where
    altered = f"{_b64(json.dumps(keyset).encode())}.{signature}"
    response = await client.get(ENTRIES, params={"cursor": altered}, headers=user.headers)
    assert response.status_code == 422
    genuine = await client.get(
        ENTRIES, params={"cursor": first["next_cursor"]}, headers=user.headers
    )
    assert genuine.status_code == 200
