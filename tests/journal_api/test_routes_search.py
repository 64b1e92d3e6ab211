"""Full-text search: ranking, typo tolerance through the user's own vocabulary,
highlights, validation, tenant isolation, and the modes that need a model server when
none is configured (semantic and hybrid against a real one: `test_routes_search_semantic`)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from journal_api.models import entry as entry_model
from journal_api.services import search as search_service

from tests.journal_api.conftest import MakeUser, TestUser

SEARCH = "/api/v1/search"


async def write(client: httpx.AsyncClient, user: TestUser, content: str, **extra: Any) -> str:
    response = await client.post(
        "/api/v1/entries", json={"content": content, **extra}, headers=user.headers
    )
    assert response.status_code == 201
    return str(response.json()["id"])


async def search(client: httpx.AsyncClient, user: TestUser, **params: Any) -> httpx.Response:
    return await client.get(SEARCH, params=params, headers=user.headers)


async def test_more_relevant_entry_ranks_first(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    passing = await write(client, user, "Lunch with Sam, then a long meeting about budgets.")
    focused = await write(
        client, user, "The garden is full of tomatoes; the tomatoes ripen early.", title="Tomatoes"
    )
    await write(client, user, "Nothing about vegetables here.")
    items = (await search(client, user, q="tomato")).json()["items"]
    assert [item["entry"]["id"] for item in items] == [focused]
    assert passing not in {item["entry"]["id"] for item in items}

    mentioned = await write(client, user, "Bought one tomato at the market.")
    body = (await search(client, user, q="tomato")).json()
    items = body["items"]
    assert [item["entry"]["id"] for item in items] == [focused, mentioned]
    assert items[0]["score"] > items[1]["score"] > 0
    assert (body["mode"], body["degraded"], body["degraded_reason"]) == ("fulltext", False, None)
    assert all(item["matched_by"] == ["fulltext"] for item in items)


async def test_stemming_matches_other_forms_of_a_word(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    entry = await write(client, user, "We were running along the beach.")
    items = (await search(client, user, q="runs")).json()["items"]
    assert [item["entry"]["id"] for item in items] == [entry]


async def test_a_misspelt_word_finds_the_entry_and_exact_beats_corrected(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    entry = await write(client, user, "Started a gratitude journal tonight.")
    items = (await search(client, user, q="gratitdue")).json()["items"]
    assert [item["entry"]["id"] for item in items] == [entry]
    assert "<mark>gratitude</mark>" in items[0]["highlight"]
    exact = (await search(client, user, q="gratitude")).json()["items"]
    assert exact[0]["score"] > items[0]["score"]


async def test_every_word_must_match(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user()
    both = await write(client, user, "Rain in the mountains all weekend.")
    await write(client, user, "Rain again in the city.")
    items = (await search(client, user, q="mountain rain")).json()["items"]
    assert [item["entry"]["id"] for item in items] == [both]


async def test_highlight_marks_the_matching_words(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await write(client, user, "A heron stood in the shallow water for an hour.")
    item = (await search(client, user, q="heron")).json()["items"][0]
    assert "<mark>heron</mark>" in item["highlight"]
    assert "shallow" in item["highlight"]


# Markup in an entry, and the control characters the headline uses as its own markers.
HOSTILE = (
    "heron <img src=x onerror=alert(1)> The heron & the <b>egret</b> \x01<script>\x02 "
    "waded 'out' into the heron pool, a<b and c>d, <svg/onload=alert(2)> heron."
)


def markup_of(highlight: str) -> list[str]:
    return re.findall(r"<[^>]*>", highlight)


async def test_highlight_escapes_the_entry_and_marks_only_matches(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await write(client, user, HOSTILE, title="<i>Heron</i> day")
    [item] = (await search(client, user, q="heron")).json()["items"]
    highlight = item["highlight"]
    assert set(markup_of(highlight)) == {"<mark>", "</mark>"}, highlight
    assert highlight.count("<mark>") == highlight.count("</mark>") >= 2
    assert "&lt;img src=x onerror=alert(1)&gt;" in highlight
    assert "&amp;" in highlight
    # The entry's own text comes back unchanged; only the highlight is HTML.
    assert item["entry"]["content"] == HOSTILE


def test_semantic_excerpt_is_escaped_too() -> None:
    entry = entry_model.Entry(title="<b>Title</b>", content=HOSTILE)
    excerpt = search_service.excerpt(entry)
    assert markup_of(excerpt) == []
    assert excerpt.startswith("&lt;b&gt;Title&lt;/b&gt; — heron &lt;img src=x")


async def test_limit_caps_the_hits(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user()
    for index in range(4):
        await write(client, user, f"Pancakes for breakfast, day {index}.")
    assert len((await search(client, user, q="pancakes", limit=2)).json()["items"]) == 2


async def test_search_never_returns_another_users_entries(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    owner, intruder = await make_user(), await make_user()
    secret = await write(client, owner, "My zeppelin collection is secret.")
    await write(client, intruder, "I like balloons.")
    for q in ("zeppelin", "zepelin"):
        # The same query finds the entry for its owner (exactly, and through the owner's
        # own vocabulary), so the intruder's empty answer is isolation, not a bad query.
        found = await search(client, owner, q=q)
        assert [item["entry"]["id"] for item in found.json()["items"]] == [secret], q
        response = await search(client, intruder, q=q)
        assert response.status_code == 200
        assert response.json()["items"] == []


async def test_without_a_model_server_semantic_is_503_and_hybrid_degrades_to_fulltext(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    # `api_settings` configure no model server (JOURNAL_API_INFERENCE_URL unset).
    user = await make_user()
    entry = await write(client, user, "Fed the ducks at the pond.")
    semantic = await search(client, user, q="ducks", mode="semantic")
    assert semantic.status_code == 503
    assert semantic.headers["content-type"].startswith("application/problem+json")
    assert int(semantic.headers["retry-after"]) >= 1
    assert "JOURNAL_API_INFERENCE_URL" in semantic.json()["detail"]

    hybrid = await search(client, user, q="ducks", mode="hybrid")
    assert hybrid.status_code == 200
    body = hybrid.json()
    assert (body["mode"], body["degraded"]) == ("hybrid", True)
    assert "no model server is configured" in body["degraded_reason"]
    assert [(item["entry"]["id"], item["matched_by"]) for item in body["items"]] == [
        (entry, ["fulltext"])
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "ok", "mode": "magic"}, "mode"),
        ({"q": "ok", "limit": "0"}, "limit"),
        ({"q": "ok", "limit": str(10**25)}, "limit"),
        ({"q": "ok", "language": "elvish"}, "language"),
    ],
)
async def test_invalid_search_is_422_naming_the_parameter(
    client: httpx.AsyncClient, make_user: MakeUser, params: dict[str, str], field: str
) -> None:
    user = await make_user()
    response = await client.get(SEARCH, params=params, headers=user.headers)
    assert response.status_code == 422
    assert field in {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize("q", ["the and of", "!!! ???", "'\\\"", "a & b | !c", "<script>"])
async def test_odd_queries_answer_200(
    client: httpx.AsyncClient, make_user: MakeUser, q: str
) -> None:
    user = await make_user()
    await write(client, user, "The quick brown fox & the lazy dog | c.")
    response = await search(client, user, q=q)
    assert response.status_code == 200
    assert isinstance(response.json()["items"], list)
