"""Per-user k-NN through the shared HNSW index returns the full `limit`.

Another user's 60 entries are all nearer the query than any of this user's 10, and the
query is forced through the HNSW index with a candidate list (`ef_search`) of 10: a
plain index scan would hand back the other user's 10 vectors and the `user_id` filter
would leave nothing. pgvector 0.8's iterative scan (`repositories/semantic.py`) keeps
scanning until this user's rows fill the limit. Embeddings are real (the model server's
`embedding` model): HNSW recall on random vectors says nothing. The `SET LOCAL`s end
with the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from journal_api import db
from journal_api import settings as settings_module
from journal_api.repositories import semantic as semantic_repo
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.inference import InferenceServer

QUERY = "grief over losing a pet"
PETS = ["dog", "cat", "rabbit", "kitten", "parrot", "puppy", "hamster", "pony", "horse", "fish"]
CROWD = [
    f"{start} {pet} died today and the grief is unbearable."
    for start in ("My", "Our", "Grandma's", "The neighbours'", "Our family's", "My sister's")
    for pet in PETS
]
OWN = [
    "Bought apples, bread and cheese at the market before noon.",
    "The quarterly budget meeting ran over by an hour again.",
    "Fixed the bicycle chain and oiled the gears in the garage.",
    "Painted the fence green; it needs a second coat.",
    "Read two chapters about the history of bridges.",
    "Tried a new pasta recipe with lemon and capers.",
    "Cleaned the gutters before the storm arrived.",
    "Practised scales on the piano for half an hour.",
    "Renewed the car insurance and paid the water bill.",
    "Sorted old photographs into albums by year.",
]
LIMIT = EF_SEARCH = len(OWN)


@pytest.fixture
async def sessionmaker(
    analysis_settings: settings_module.Settings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    # One connection, so the check that settings do not leak sees the same backend.
    engine = db.make_engine(
        analysis_settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    )
    yield db.make_sessionmaker(engine)
    await engine.dispose()


async def embed(server: InferenceServer, texts: list[str]) -> list[list[float]]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        response = await http.post(
            "/v2/models/embedding/infer",
            json={"inputs": [{"name": "text", "shape": [len(texts)], "datatype": "BYTES",
                              "data": texts}]},
        )  # fmt: skip
    assert response.status_code == 200, response.text
    output = next(o for o in response.json()["outputs"] if o["name"] == "embedding")
    width = output["shape"][1]
    return [output["data"][n * width : (n + 1) * width] for n in range(len(texts))]


async def add_user(session: AsyncSession, texts: list[str], vectors: list[list[float]]) -> Any:
    user_id = uuid.uuid4()
    await session.execute(
        text("INSERT INTO users (id, email, password_hash) VALUES (:id, :email, 'x')"),
        {"id": user_id, "email": f"knn-{user_id.hex}@example.com"},
    )
    for content, vector in zip(texts, vectors, strict=True):
        entry_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO entries (id, user_id, content, entry_date) "
                "VALUES (:id, :user_id, :content, current_date)"
            ),
            {"id": entry_id, "user_id": user_id, "content": content},
        )
        await session.execute(
            text(
                "INSERT INTO entry_analyses (entry_id, user_id, status, embedding, model_version) "
                "VALUES (:id, :user_id, 'done', CAST(:v AS vector), 'test')"
            ),
            {"id": entry_id, "user_id": user_id, "v": str(vector)},
        )
    return user_id


async def test_a_crowded_index_still_returns_the_full_limit_of_the_users_own_entries(
    sessionmaker: async_sessionmaker[AsyncSession], inference_server: InferenceServer
) -> None:
    [query] = await embed(inference_server, [QUERY])
    async with sessionmaker() as session:
        await add_user(session, CROWD, await embed(inference_server, CROWD))
        user_id = await add_user(session, OWN, await embed(inference_server, OWN))
        await session.commit()

    async with sessionmaker() as session:
        # Make the planner take the HNSW index, as it would on a large table.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            await session.execute(text(f"SET LOCAL {setting} = off"))
        plan = await _plan(session, user_id, query)
        assert "ix_entry_analyses_embedding" in plan, plan
        found = await semantic_repo.nearest(
            session, user_id=user_id, embedding=query, limit=LIMIT, ef_search=EF_SEARCH
        )
        await session.commit()

    assert len(found) == LIMIT
    assert {n.entry.user_id for n in found} == {user_id}
    similarities = [n.similarity for n in found]
    assert similarities == sorted(similarities, reverse=True)

    async with sessionmaker() as session:
        assert await session.scalar(text("SHOW hnsw.iterative_scan")) == "off"
        assert await session.scalar(text("SHOW hnsw.ef_search")) == "40"


async def _plan(session: AsyncSession, user_id: uuid.UUID, query: list[float]) -> str:
    rows = await session.execute(
        text(
            "EXPLAIN SELECT entry_id FROM entry_analyses WHERE user_id = :u "
            "AND embedding IS NOT NULL ORDER BY embedding <=> CAST(:q AS vector) LIMIT :n"
        ),
        {"u": user_id, "q": str(query), "n": LIMIT},
    )
    return "\n".join(row[0] for row in rows)
