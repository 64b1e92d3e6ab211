"""Topics: CRUD, case-insensitive unique names, validation, and tenant isolation."""

from __future__ import annotations

import uuid

import httpx

from tests.journal_api.conftest import MakeUser

TOPICS = "/api/v1/topics"


async def test_topic_crud_round_trip(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user()
    created = await client.post(
        TOPICS, json={"name": "  Gratitude ", "description": "good things"}, headers=user.headers
    )
    assert created.status_code == 201
    topic = created.json()
    assert topic["name"] == "Gratitude"
    assert topic["description"] == "good things"

    read = await client.get(f"{TOPICS}/{topic['id']}", headers=user.headers)
    assert read.json() == topic

    renamed = await client.patch(
        f"{TOPICS}/{topic['id']}",
        json={"name": "Thanks", "description": None},
        headers=user.headers,
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["description"]) == ("Thanks", None)

    listed = await client.get(TOPICS, headers=user.headers)
    assert [t["name"] for t in listed.json()["items"]] == ["Thanks"]

    deleted = await client.delete(f"{TOPICS}/{topic['id']}", headers=user.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{TOPICS}/{topic['id']}", headers=user.headers)).status_code == 404


async def test_duplicate_name_ignoring_case_is_a_409_naming_name(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await client.post(TOPICS, json={"name": "Work"}, headers=user.headers)
    response = await client.post(TOPICS, json={"name": "WORK"}, headers=user.headers)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == ["name"]


async def test_renaming_onto_an_existing_name_is_a_409(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await client.post(TOPICS, json={"name": "Work"}, headers=user.headers)
    other = (await client.post(TOPICS, json={"name": "Home"}, headers=user.headers)).json()
    response = await client.patch(
        f"{TOPICS}/{other['id']}", json={"name": "work"}, headers=user.headers
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "name"


async def test_two_users_may_use_the_same_topic_name(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    first, second = await make_user(), await make_user()
    for user in (first, second):
        response = await client.post(TOPICS, json={"name": "Travel"}, headers=user.headers)
        assert response.status_code == 201


async def test_invalid_topic_names_are_422_naming_name(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    for body in ({"name": "   "}, {"name": "a\x00b"}, {"name": "x" * 101}, {}):
        response = await client.post(TOPICS, json=body, headers=user.headers)
        assert response.status_code == 422, body
        assert "name" in {error["field"] for error in response.json()["errors"]}, body
    created = (await client.post(TOPICS, json={"name": "Ok"}, headers=user.headers)).json()
    response = await client.patch(
        f"{TOPICS}/{created['id']}", json={"name": None}, headers=user.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


async def test_another_users_topic_is_a_404_everywhere(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    owner, intruder = await make_user(), await make_user()
    topic = (await client.post(TOPICS, json={"name": "Private"}, headers=owner.headers)).json()
    path = f"{TOPICS}/{topic['id']}"

    assert (await client.get(path, headers=intruder.headers)).status_code == 404
    patch = await client.patch(path, json={"name": "Mine"}, headers=intruder.headers)
    assert patch.status_code == 404
    assert (await client.delete(path, headers=intruder.headers)).status_code == 404
    assert (await client.get(TOPICS, headers=intruder.headers)).json()["items"] == []
    missing = await client.get(f"{TOPICS}/{uuid.uuid4()}", headers=intruder.headers)
    assert missing.status_code == 404
    assert (await client.get(path, headers=owner.headers)).json()["name"] == "Private"


async def test_deleting_a_topic_keeps_its_entries(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    topic = (await client.post(TOPICS, json={"name": "Dreams"}, headers=user.headers)).json()
    entry = (
        await client.post(
            "/api/v1/entries",
            json={"content": "I could fly.", "topic_id": topic["id"]},
            headers=user.headers,
        )
    ).json()
    await client.delete(f"{TOPICS}/{topic['id']}", headers=user.headers)
    kept = await client.get(f"/api/v1/entries/{entry['id']}", headers=user.headers)
    assert kept.status_code == 200
    assert kept.json()["topic_id"] is None


async def test_topics_require_authentication(client: httpx.AsyncClient) -> None:
    response = await client.get(TOPICS)
    assert response.status_code == 401
