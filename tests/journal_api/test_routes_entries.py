"""Entries: create/read/update/delete, validation errors that name the field, and the
guarantee that another user's entry behaves exactly like a missing one."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.journal_api.conftest import MakeUser, TestUser

ENTRIES = "/api/v1/entries"
PUBLIC_FIELDS = {
    "id",
    "title",
    "content",
    "topic_id",
    "tags",
    "mood",
    "entry_date",
    "is_favorite",
    "word_count",
    "language",
    "created_at",
    "updated_at",
    "analysis",
}


async def create_entry(client: httpx.AsyncClient, user: TestUser, **body: Any) -> dict[str, Any]:
    body.setdefault("content", "Walked by the river before work.")
    response = await client.post(ENTRIES, json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


def fields_of(response: httpx.Response) -> set[str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return {error["field"] for error in response.json()["errors"]}


async def test_create_returns_the_entry_with_derived_fields(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    topic = (
        await client.post("/api/v1/topics", json={"name": "Walks"}, headers=user.headers)
    ).json()
    entry = await create_entry(
        client,
        user,
        content="The fog  lifted\naround eight.",
        title="Morning",
        topic_id=topic["id"],
        tags=[" Walks", "walks", "MORNING", "  "],
        mood=2,
        entry_date="2026-03-01",
        is_favorite=True,
    )
    assert set(entry) == PUBLIC_FIELDS
    assert entry["tags"] == ["walks", "morning"]
    assert entry["word_count"] == 5
    assert (entry["title"], entry["topic_id"], entry["mood"]) == ("Morning", topic["id"], 2)
    assert (entry["entry_date"], entry["is_favorite"]) == ("2026-03-01", True)
    assert entry["analysis"] is None  # analysed later, by the worker

    read = await client.get(f"{ENTRIES}/{entry['id']}", headers=user.headers)
    assert read.json() == entry


async def test_entry_date_defaults_to_today_in_the_users_timezone(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    east, west = (
        await make_user(timezone="Pacific/Kiritimati"),
        await make_user(timezone="Pacific/Pago_Pago"),
    )
    # UTC+14 and UTC-11: 25 hours apart, so their "today" always differs.
    east_day = (await create_entry(client, east))["entry_date"]
    west_day = (await create_entry(client, west))["entry_date"]
    assert east_day > west_day


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    entry = await create_entry(client, user, title="Old", mood=1, tags=["a"])
    response = await client.patch(
        f"{ENTRIES}/{entry['id']}",
        json={"content": "one two three", "mood": None, "tags": ["B", "b"]},
        headers=user.headers,
    )
    assert response.status_code == 200
    updated = response.json()
    assert (updated["content"], updated["word_count"], updated["mood"]) == (
        "one two three",
        3,
        None,
    )
    assert (updated["title"], updated["tags"]) == ("Old", ["b"])
    assert updated["updated_at"] >= entry["updated_at"]


async def test_delete_removes_the_entry(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user()
    entry = await create_entry(client, user)
    assert (
        await client.delete(f"{ENTRIES}/{entry['id']}", headers=user.headers)
    ).status_code == 204
    assert (await client.get(f"{ENTRIES}/{entry['id']}", headers=user.headers)).status_code == 404
    assert (
        await client.delete(f"{ENTRIES}/{entry['id']}", headers=user.headers)
    ).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "content"),
        ({"content": ""}, "content"),
        ({"content": " \n\t"}, "content"),
        ({"content": "x" * 100_001}, "content"),
        ({"content": "nul \x00 byte"}, "content"),
        ({"content": "ok", "title": "t\x00"}, "title"),
        ({"content": "ok", "title": "t" * 201}, "title"),
        ({"content": "ok", "mood": 3}, "mood"),
        ({"content": "ok", "mood": -3}, "mood"),
        ({"content": "ok", "mood": 10**40}, "mood"),
        # JSON types only: pydantic alone would read these as 0, 2 and true.
        ({"content": "ok", "mood": False}, "mood"),
        ({"content": "ok", "mood": "2"}, "mood"),
        ({"content": "ok", "is_favorite": "yes"}, "is_favorite"),
        ({"content": "ok", "is_favorite": 1}, "is_favorite"),
        ({"content": "ok", "tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"content": "ok", "tags": ["x" * 51]}, "tags"),
        ({"content": "ok", "tags": ["a\x00"]}, "tags"),
        ({"content": "ok", "tags": "not-a-list"}, "tags"),
        ({"content": "ok", "entry_date": "2026-02-30"}, "entry_date"),
        ({"content": "ok", "entry_date": "0001-01-01"}, "entry_date"),
        ({"content": "ok", "topic_id": "not-a-uuid"}, "topic_id"),
        ({"content": "ok", "language": "klingon"}, "language"),
        ({"content": "ok", "surprise": 1}, "surprise"),
    ],
)
async def test_invalid_entry_is_422_naming_the_field(
    client: httpx.AsyncClient, make_user: MakeUser, body: dict[str, Any], field: str
) -> None:
    user = await make_user()
    response = await client.post(ENTRIES, json=body, headers=user.headers)
    assert response.status_code == 422
    assert field in fields_of(response)


async def test_tags_are_counted_and_measured_as_sent(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    # The limits the document states (JSON Schema cannot count tags after normalisation):
    # twenty tags of at most fifty characters, however few remain once normalised.
    user = await make_user()
    tags = [f" T{i} " for i in range(19)] + ["X" * 50]
    entry = await create_entry(client, user, tags=tags)
    assert entry["tags"] == [f"t{i}" for i in range(19)] + ["x" * 50]
    for refused in (["Work"] * 21, [" " + "x" * 50]):
        response = await client.post(
            ENTRIES, json={"content": "ok", "tags": refused}, headers=user.headers
        )
        assert response.status_code == 422
        assert fields_of(response) == {"tags"}


@pytest.mark.parametrize("field", ["content", "tags", "entry_date", "is_favorite", "language"])
async def test_patch_refuses_null_for_required_fields(
    client: httpx.AsyncClient, make_user: MakeUser, field: str
) -> None:
    user = await make_user()
    entry = await create_entry(client, user)
    response = await client.patch(
        f"{ENTRIES}/{entry['id']}", json={field: None}, headers=user.headers
    )
    assert response.status_code == 422
    assert fields_of(response) == {field}


@pytest.mark.parametrize(
    ("field", "value"), [("mood", True), ("mood", "-1"), ("is_favorite", 0), ("is_favorite", "on")]
)
async def test_patch_takes_mood_and_favorite_only_as_json_integer_and_boolean(
    client: httpx.AsyncClient, make_user: MakeUser, field: str, value: object
) -> None:
    user = await make_user()
    entry = await create_entry(client, user, mood=-2)
    path = f"{ENTRIES}/{entry['id']}"
    response = await client.patch(path, json={field: value}, headers=user.headers)
    assert response.status_code == 422
    assert fields_of(response) == {field}
    unchanged = (await client.get(path, headers=user.headers)).json()
    assert (unchanged["mood"], unchanged["is_favorite"]) == (-2, False)


async def test_topic_of_another_user_is_a_conflict_naming_topic_id(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    # 409 naming the field: a valid UUID is schema-valid input (so not a 422), and a 404
    # would say the request's target is missing, on PATCH the entry that does exist.
    owner, other = await make_user(), await make_user()
    topic = (
        await client.post("/api/v1/topics", json={"name": "Mine"}, headers=owner.headers)
    ).json()
    for topic_id in (topic["id"], str(uuid.uuid4())):
        response = await client.post(
            ENTRIES, json={"content": "x", "topic_id": topic_id}, headers=other.headers
        )
        assert response.status_code == 409
        assert fields_of(response) == {"topic_id"}
    entry = await create_entry(client, other)
    response = await client.patch(
        f"{ENTRIES}/{entry['id']}", json={"topic_id": topic["id"]}, headers=other.headers
    )
    assert response.status_code == 409
    assert fields_of(response) == {"topic_id"}
    read = await client.get(f"{ENTRIES}/{entry['id']}", headers=other.headers)
    assert (read.status_code, read.json()["topic_id"]) == (200, None)


async def test_another_users_entry_is_a_404_like_a_missing_one(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    owner, intruder = await make_user(), await make_user()
    entry = await create_entry(client, owner, content="secret plans")
    path = f"{ENTRIES}/{entry['id']}"
    missing = await client.get(f"{ENTRIES}/{uuid.uuid4()}", headers=intruder.headers)

    read = await client.get(path, headers=intruder.headers)
    assert (read.status_code, read.json()["detail"]) == (404, missing.json()["detail"])
    patch = await client.patch(path, json={"content": "mine now"}, headers=intruder.headers)
    assert patch.status_code == 404
    assert (await client.delete(path, headers=intruder.headers)).status_code == 404
    assert (await client.get(ENTRIES, headers=intruder.headers)).json()["items"] == []
    still = await client.get(path, headers=owner.headers)
    assert still.json()["content"] == "secret plans"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": str(10**30)}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "definitely-not-a-cursor"}, "cursor"),
        ({"cursor": "W10"}, "cursor"),  # base64 of "[]"
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "0"}, "from"),  # not read as a Unix timestamp
        ({"to": "1700000000"}, "to"),
        ({"mood_min": "-3"}, "mood_min"),
        ({"mood_max": "99999999999999999999"}, "mood_max"),
        ({"tag": "a\x00"}, "tag"),
        ({"topic_id": "nope"}, "topic_id"),
        ({"favorite": "perhaps"}, "favorite"),
    ],
)
async def test_invalid_list_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, make_user: MakeUser, params: dict[str, str], field: str
) -> None:
    user = await make_user()
    response = await client.get(ENTRIES, params=params, headers=user.headers)
    assert response.status_code == 422
    assert field in fields_of(response)


async def test_malformed_entry_id_is_a_422(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user()
    response = await client.get(f"{ENTRIES}/12345", headers=user.headers)
    assert response.status_code == 422
    assert fields_of(response) == {"entry_id"}


async def test_lone_surrogate_in_content_is_a_422_naming_content(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await client.post(
        ENTRIES,
        content=b'{"content": "broken \\ud800 text"}',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "content" in fields_of(response)
