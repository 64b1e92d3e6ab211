"""The OpenAPI document says exactly what the API accepts, where a fuzzer found it said
more: fields that are optional but never null, the time zones by name, the shape of a
list cursor, no NUL in the tag filter, the limits of an entry's tags, and a 409 for a topic
that is not yours; and the link from a created topic to writing an entry under it, which
the stateful fuzz run follows."""

from __future__ import annotations

import zoneinfo
from typing import Any

import httpx
import pytest


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("TopicUpdate", "name"),
        ("EntryUpdate", "content"),
        ("EntryUpdate", "tags"),
        ("EntryUpdate", "entry_date"),
        ("EntryUpdate", "is_favorite"),
        ("EntryUpdate", "language"),
    ],
)
def test_fields_refusing_null_are_not_nullable_in_the_document(
    document: dict[str, Any], model: str, field: str
) -> None:
    prop = component(document, model)["properties"][field]
    assert "null" not in str(prop), prop
    assert "default" not in prop


async def test_nullable_fields_stay_nullable(
    document: dict[str, Any], client: httpx.AsyncClient
) -> None:
    assert {"type": "null"} in component(document, "EntryUpdate")["properties"]["title"]["anyOf"]


def test_time_zones_are_listed_by_name_and_each_is_valid(document: dict[str, Any]) -> None:
    update = component(document, "UserUpdate")["properties"]["timezone"]
    [named] = [option for option in update["anyOf"] if "enum" in option]
    assert "Europe/Berlin" in named["enum"]
    for zone in named["enum"]:
        zoneinfo.ZoneInfo(zone)


def test_the_list_cursor_has_the_shape_of_a_signed_cursor(document: dict[str, Any]) -> None:
    [cursor] = [
        p
        for p in document["paths"]["/api/v1/entries"]["get"]["parameters"]
        if p["name"] == "cursor"
    ]
    string = cursor["schema"]
    assert string["type"] == "string"
    assert string["pattern"].startswith("^")
    assert string["format"] == "journal-cursor"


def test_the_tag_filter_states_that_it_takes_no_nul(document: dict[str, Any]) -> None:
    [tag] = [
        p for p in document["paths"]["/api/v1/entries"]["get"]["parameters"] if p["name"] == "tag"
    ]
    [string] = [option for option in tag["schema"]["anyOf"] if option.get("type") == "string"]
    assert string["pattern"] == "^[^\\x00]*$"


@pytest.mark.parametrize("model", ["EntryCreate", "EntryUpdate"])
def test_the_tag_limits_are_stated_on_the_tags_as_sent(
    document: dict[str, Any], model: str
) -> None:
    tags = component(document, model)["properties"]["tags"]
    assert (tags["maxItems"], tags["items"]["maxLength"]) == (20, 50)


def test_writing_an_entry_documents_the_409_of_a_topic_not_yours(document: dict[str, Any]) -> None:
    assert "409" in document["paths"]["/api/v1/entries"]["post"]["responses"]
    assert "409" in document["paths"]["/api/v1/entries/{entry_id}"]["patch"]["responses"]


def test_a_created_topic_links_to_writing_an_entry_under_it(document: dict[str, Any]) -> None:
    links = document["paths"]["/api/v1/topics"]["post"]["responses"]["201"]["links"]
    link = links["CreateEntryInTopic"]
    assert link["operationId"] == document["paths"]["/api/v1/entries"]["post"]["operationId"]
    assert link["requestBody"] == {"topic_id": "$response.body#/id"}
    assert "topic_id" in component(document, "EntryCreate")["properties"]
