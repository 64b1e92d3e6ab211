"""Entry analysis end to end, with the real worker code, model server and PostgreSQL:

- a new entry is answered at once with `analysis: null` and one `entry.analyze` job in
  the outbox; the worker then stores what the model server says (28 scores, labels,
  Ekman, sentiment, polarity, an L2-normalised embedding, model name and version) and
  the entry, read again through the cache, shows it;
- ten quick edits leave one job, and it analyses the last text;
- editing the text of an analysed entry hides its analysis until the new one lands,
  while editing anything else (mood, tags) keeps it and queues nothing;
- an edit that lands while its entry is being analysed is not overwritten by the old
  text's analysis: the job runs again on the new text;
- a text the server rejects (400) is marked failed with the server's reason, is never
  retried, and does not fail the rest of its batch;
- another server error is retried with back-off, and after the last attempt the
  analysis is failed with the error; a result that cannot be stored fails its jobs, not
  the worker;
- a deleted entry's queued job goes with it; a job whose entry vanished is dropped.
"""

from __future__ import annotations

import json
import typing
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from journal_api import metrics, working
from journal_api import settings as settings_module
from journal_api.clients import breaker, inference
from journal_api.repositories import jobs as jobs_repo
from journal_api.schemas import analysis as analysis_schema
from journal_api.services import analysis as analysis_service
from sqlalchemy import text

from tests.journal_api.conftest import MakeUser, TestUser, analysis_worker, drain
from tests.support.inference import InferenceServer

ENTRIES = "/api/v1/entries"
GRIEF = "My dog passed away this morning and I cannot stop crying."
TRIP = "Booked train tickets for the mountain trip; we leave on Friday at dawn."
# Batches are quantised dynamically (int8), so a text's scores move a little with the
# other texts of its batch: compare with the server's answer loosely.
SCORE_TOLERANCE = 0.05
SAME_TEXT_COSINE = 0.98


async def write(client: httpx.AsyncClient, user: TestUser, **body: Any) -> dict[str, Any]:
    response = await client.post(ENTRIES, json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def read(client: httpx.AsyncClient, user: TestUser, entry_id: str) -> dict[str, Any]:
    response = await client.get(f"{ENTRIES}/{entry_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def server_analysis(server: InferenceServer, texts: list[str]) -> dict[str, Any]:
    """What the model server says about ``texts``, asked directly."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        response = await http.post(
            "/v2/models/analyzer/infer",
            json={
                "inputs": [
                    {"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}
                ]
            },
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def outputs(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {output["name"]: output["data"] for output in body["outputs"]}


async def stored(app: FastAPI, entry_id: str) -> Any:
    async with app.state.sessionmaker() as session:
        return (
            await session.execute(
                text(
                    "SELECT status, failure_reason, revision, model_name, model_version, "
                    "analyzed_at, vector_dims(embedding) AS dims, "
                    "vector_norm(embedding) AS norm, cardinality(emotion_scores) AS scores "
                    "FROM entry_analyses WHERE entry_id = :id"
                ),
                {"id": uuid.UUID(entry_id)},
            )
        ).one_or_none()


async def cosine_to(app: FastAPI, entry_id: str, vector: list[float]) -> float:
    async with app.state.sessionmaker() as session:
        value = await session.scalar(
            text(
                "SELECT 1 - (embedding <=> CAST(:v AS vector)) FROM entry_analyses "
                "WHERE entry_id = :id"
            ),
            {"v": str(vector), "id": uuid.UUID(entry_id)},
        )
    return float(value)


async def jobs_of(app: FastAPI, entry_id: str) -> list[tuple[str, int]]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT status, attempts FROM jobs WHERE kind = 'entry.analyze' "
                "AND payload->>'entry_id' = :id"
            ),
            {"id": entry_id},
        )
        return [(row.status, row.attempts) for row in rows]


async def embedding_of_text(server: InferenceServer, value: str) -> list[float]:
    data = outputs(await server_analysis(server, [value]))["embedding"]
    return [float(x) for x in data]


async def test_a_new_entry_is_answered_at_once_then_analysed_by_the_worker(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
    inference_server: InferenceServer,
) -> None:
    user = await make_analysis_user()
    # Whatever earlier tests left queued goes first: analysed alone, the entry's batch is
    # the server's single-text batch below, so the tolerance holds.
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    entry = await write(analysis_client, user, title="Sunday", content=GRIEF)
    assert entry["analysis"] is None
    assert await jobs_of(analysis_app, entry["id"]) == [("queued", 0)]
    assert (await read(analysis_client, user, entry["id"]))["analysis"] is None  # now cached

    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)

    analysis = (await read(analysis_client, user, entry["id"]))["analysis"]
    assert analysis is not None, "the worker's write must invalidate the cached entry"
    body = await server_analysis(inference_server, [f"Sunday\n\n{GRIEF}"])
    expected = outputs(body)
    assert analysis["status"] == "done"
    assert analysis["failure_reason"] is None
    assert list(analysis["emotion_scores"]) == list(analysis_schema.EMOTIONS)
    for label, score in zip(analysis_schema.EMOTIONS, expected["scores"], strict=True):
        assert analysis["emotion_scores"][label] == pytest.approx(score, abs=SCORE_TOLERANCE)
    assert set(analysis["emotions"]) <= set(analysis_schema.EMOTIONS)
    assert analysis["ekman"] in typing.get_args(analysis_schema.Ekman)
    assert analysis["sentiment"] in typing.get_args(analysis_schema.Sentiment)
    assert analysis["polarity"] == pytest.approx(expected["polarity"][0], abs=SCORE_TOLERANCE)
    assert analysis["truncated"] is False
    assert (analysis["model_name"], analysis["model_version"]) == (
        "analyzer",
        body["parameters"]["model_version"],
    )
    assert analysis["analyzed_at"] is not None

    row = await stored(analysis_app, entry["id"])
    assert (row.dims, row.scores) == (384, 28)
    assert row.norm == pytest.approx(1.0, abs=1e-3)
    cosine = await cosine_to(analysis_app, entry["id"], expected["embedding"])
    assert cosine > SAME_TEXT_COSINE
    assert await jobs_of(analysis_app, entry["id"]) == []


async def test_ten_quick_edits_leave_one_job_that_analyses_the_last_text(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
    inference_server: InferenceServer,
) -> None:
    user = await make_analysis_user()
    entry = await write(analysis_client, user, content=TRIP)
    for n in range(9):
        response = await analysis_client.patch(
            f"{ENTRIES}/{entry['id']}",
            json={"content": f"{TRIP} Note {n}: pack a warmer jacket."},
            headers=user.headers,
        )
        assert response.status_code == 200
    response = await analysis_client.patch(
        f"{ENTRIES}/{entry['id']}", json={"content": GRIEF}, headers=user.headers
    )
    assert response.status_code == 200
    assert response.json()["analysis"] is None
    assert await jobs_of(analysis_app, entry["id"]) == [("queued", 0)]

    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)

    row = await stored(analysis_app, entry["id"])
    assert (row.status, row.revision) == ("done", 10)
    grief = await embedding_of_text(inference_server, GRIEF)
    trip = await embedding_of_text(inference_server, TRIP)
    last = await cosine_to(analysis_app, entry["id"], grief)
    first = await cosine_to(analysis_app, entry["id"], trip)
    assert last > SAME_TEXT_COSINE > first
    assert await jobs_of(analysis_app, entry["id"]) == []


async def test_only_an_edit_of_the_text_sends_an_analysed_entry_back_to_pending(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    entry = await write(analysis_client, user, content=TRIP)
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    url = f"{ENTRIES}/{entry['id']}"

    kept = await analysis_client.patch(
        url, json={"mood": 2, "tags": ["trip"]}, headers=user.headers
    )
    assert kept.json()["analysis"]["status"] == "done"
    assert await jobs_of(analysis_app, entry["id"]) == []

    edited = await analysis_client.patch(url, json={"title": "Plans"}, headers=user.headers)
    assert edited.json()["analysis"] is None
    assert (await read(analysis_client, user, entry["id"]))["analysis"] is None
    assert await jobs_of(analysis_app, entry["id"]) == [("queued", 0)]
    row = await stored(analysis_app, entry["id"])
    assert (row.status, row.revision, row.dims, row.model_version) == ("pending", 1, None, None)
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    assert (await read(analysis_client, user, entry["id"]))["analysis"]["status"] == "done"


async def test_an_edit_during_analysis_is_not_overwritten_by_the_old_text(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
    inference_server: InferenceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await make_analysis_user()
    entry = await write(analysis_client, user, content=TRIP)
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        assert worker.analyzer is not None
        real_analyze = worker.analyzer.client.analyze
        edits: list[int] = []

        # A spy, not a fake: the real model server still answers; the wrapper only places the
        # user's edit in the one moment that matters (after the answer, before it is stored).
        async def analyze_then_edit(texts: list[str]) -> inference.Analyses:
            answer = await real_analyze(texts)
            if not edits:  # the user edits after the model answered for the old text
                response = await analysis_client.patch(
                    f"{ENTRIES}/{entry['id']}", json={"content": GRIEF}, headers=user.headers
                )
                edits.append(response.status_code)
            return answer

        monkeypatch.setattr(worker.analyzer.client, "analyze", analyze_then_edit)
        await drain(worker)

    assert edits == [200]
    row = await stored(analysis_app, entry["id"])
    assert (row.status, row.revision) == ("done", 1)
    grief = await embedding_of_text(inference_server, GRIEF)
    assert await cosine_to(analysis_app, entry["id"], grief) > SAME_TEXT_COSINE
    assert await jobs_of(analysis_app, entry["id"]) == []


async def test_a_rejected_text_fails_for_good_without_failing_its_batch(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    # The server refuses texts over 20000 characters; this worker does not clip them.
    unclipped = analysis_settings.model_copy(update={"analysis_max_text_chars": 100_000})
    user = await make_analysis_user()
    huge = await write(analysis_client, user, content="word " * 6000)
    fine = await write(analysis_client, user, content="A calm evening with tea and a book.")

    async with analysis_worker(unclipped, analysis_app) as worker:
        await drain(worker)
        assert await worker.run_once() == 0  # nothing comes back to be retried

    failed = (await read(analysis_client, user, huge["id"]))["analysis"]
    assert failed["status"] == "failed"
    assert failed["failure_reason"].startswith("the model server rejected the text:")
    assert "at most 20000" in failed["failure_reason"]
    assert (failed["emotion_scores"], failed["ekman"], failed["sentiment"]) == ({}, None, None)
    assert await jobs_of(analysis_app, huge["id"]) == []
    assert (await read(analysis_client, user, fine["id"]))["analysis"]["status"] == "done"


async def test_a_long_text_is_clipped_and_marked_truncated(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    long = await write(analysis_client, user, content="word " * 6000)
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    analysis = (await read(analysis_client, user, long["id"]))["analysis"]
    assert (analysis["status"], analysis["truncated"]) == ("done", True)


async def test_a_server_error_is_retried_then_the_analysis_fails_with_it(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)  # nobody else's job may meet the broken server below
    user = await make_analysis_user()
    entry = await write(analysis_client, user, content=TRIP)
    settings = analysis_settings.model_copy(update={"worker_max_attempts": 2})
    calls: list[str] = []

    def broken(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(500, json={"error": "model crashed"})

    client = inference.InferenceClient(
        "http://broken.invalid",
        timeout=1,
        retries=0,
        retry_base_seconds=0,
        breaker=breaker.CircuitBreaker(failures=100, reset_seconds=1, max_reset_seconds=1),
        transport=httpx.MockTransport(broken),
    )
    analyzer = analysis_service.Analyzer(
        settings,
        client=client,
        sessionmaker=analysis_app.state.sessionmaker,
        cache=analysis_app.state.cache,
    )
    worker = working.Worker(
        settings,
        sessionmaker=analysis_app.state.sessionmaker,
        metrics=metrics.WorkerMetrics(),
        analyzer=analyzer,
    )
    await drain(worker)
    await client.aclose()

    assert calls == ["/v2/models/analyzer/infer"] * 2
    assert await jobs_of(analysis_app, entry["id"]) == [(jobs_repo.Status.DEAD, 2)]
    failed = (await read(analysis_client, user, entry["id"]))["analysis"]
    assert failed["status"] == "failed"
    assert failed["failure_reason"].startswith("analysis failed 2 times:")
    assert "HTTP 500" in failed["failure_reason"]


def nan_analysis(request: httpx.Request) -> httpx.Response:
    """A well-formed analyzer answer whose embedding PostgreSQL refuses (NaN)."""
    count = len(json.loads(request.content)["inputs"][0]["data"])

    def output(name: str, shape: list[int], data: list[Any]) -> dict[str, Any]:
        return {"name": name, "shape": shape, "datatype": "FP32", "data": data}

    body = {
        "model_name": "analyzer",
        "model_version": "nan",
        "outputs": [
            output("scores", [count, 28], [0.5] * 28 * count),
            output("embedding", [count, 384], [float("nan")] * 384 * count),
            output("labels", [count], ["joy"] * count),
            output("ekman", [count], ["joy"] * count),
            output("label", [count], ["positive"] * count),
            output("polarity", [count], [0.5] * count),
            output("truncated", [count], [False] * count),
        ],
    }
    # json.dumps writes NaN (httpx's own encoder refuses it), as a buggy server might.
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


async def test_a_result_that_cannot_be_stored_fails_its_jobs_not_the_worker(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)  # nobody else's job may meet the broken server below
    user = await make_analysis_user()
    entry = await write(analysis_client, user, content=TRIP)
    settings = analysis_settings.model_copy(update={"worker_max_attempts": 1})
    client = inference.InferenceClient(
        "http://nan.invalid",
        timeout=1,
        retries=0,
        retry_base_seconds=0,
        breaker=breaker.CircuitBreaker(failures=100, reset_seconds=1, max_reset_seconds=1),
        transport=httpx.MockTransport(nan_analysis),
    )
    analyzer = analysis_service.Analyzer(
        settings, client=client, sessionmaker=analysis_app.state.sessionmaker, cache=None
    )
    worker = working.Worker(
        settings,
        sessionmaker=analysis_app.state.sessionmaker,
        metrics=metrics.WorkerMetrics(),
        analyzer=analyzer,
    )
    await drain(worker)
    await client.aclose()
    assert await jobs_of(analysis_app, entry["id"]) == [(jobs_repo.Status.DEAD, 1)]
    assert b'result="dead"' in worker.metrics.render()


async def test_a_deleted_entry_takes_its_queued_job_and_a_vanished_one_is_dropped(
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    analysis_settings: settings_module.Settings,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    entry = await write(analysis_client, user, content=TRIP)
    response = await analysis_client.delete(f"{ENTRIES}/{entry['id']}", headers=user.headers)
    assert response.status_code == 204
    assert await jobs_of(analysis_app, entry["id"]) == []

    ghost = str(uuid.uuid4())
    async with analysis_app.state.sessionmaker() as session:
        await jobs_repo.enqueue(
            session,
            kind="entry.analyze",
            user_id=user.id,
            payload={"entry_id": ghost},
            dedupe_key=f"entry.analyze:{ghost}",
        )
        await session.commit()
    async with analysis_worker(analysis_settings, analysis_app) as worker:
        await drain(worker)
    assert await jobs_of(analysis_app, ghost) == []
