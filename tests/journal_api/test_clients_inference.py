"""The model server client's failure handling, without a network (httpx MockTransport):

- the breaker opens after the configured failures in a row, refuses calls while open,
  lets exactly one probe through after the reset time, closes on its success and
  reopens for twice as long on its failure;
- the client retries what the server did not answer (503, refused) and succeeds when a
  retry does; a 400 is `InferenceRejected` with the server's reason, never retried, and
  does not count against the breaker; an open breaker sends nothing at all;
- a malformed response (wrong shapes, an embedding of another width) is an
  `InferenceError`, not a crash.

The real server's answers are covered by `test_worker_analysis.py`.
"""

from __future__ import annotations

import httpx
import pytest
from journal_api.clients import breaker, inference

TEXT = "a text"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_breaker(clock: FakeClock) -> breaker.CircuitBreaker:
    return breaker.CircuitBreaker(failures=2, reset_seconds=10, max_reset_seconds=15, clock=clock)


def state(cb: breaker.CircuitBreaker) -> breaker.State:
    # A call, so mypy does not keep an earlier assert's narrowing of the attribute.
    return cb.state


def test_breaker_opens_after_failures_in_a_row_and_probes_once_after_the_reset() -> None:
    clock = FakeClock()
    cb = make_breaker(clock)
    cb.record_failure()
    assert cb.allow()
    cb.record_failure()
    assert state(cb) is breaker.State.OPEN
    assert not cb.allow()
    assert 10 <= cb.retry_after() <= 12  # 10 s plus up to 20 % jitter

    clock.now += 12
    assert cb.would_allow()
    assert cb.allow()  # the probe
    assert not cb.allow()  # only one at a time
    cb.record_success()
    assert state(cb) is breaker.State.CLOSED
    assert cb.allow()


def test_a_failed_probe_reopens_the_breaker_for_longer_up_to_the_maximum() -> None:
    clock = FakeClock()
    cb = make_breaker(clock)
    cb.record_failure()
    cb.record_failure()
    clock.now += 12
    assert cb.allow()
    cb.record_failure()
    assert state(cb) is breaker.State.OPEN
    assert 15 <= cb.retry_after() <= 18  # 20 s, capped at 15, plus jitter
    clock.now += 18
    assert cb.allow()
    cb.abandon()  # a cancelled probe hands the probe to the next caller
    assert cb.allow()


def client_for(
    handler: httpx.MockTransport, *, retries: int = 2, failures: int = 5
) -> inference.InferenceClient:
    return inference.InferenceClient(
        "http://model.test",
        timeout=1,
        retries=retries,
        retry_base_seconds=0.001,
        breaker=breaker.CircuitBreaker(failures=failures, reset_seconds=60, max_reset_seconds=60),
        transport=handler,
    )


VECTOR = [0.6, 0.8] + [0.0] * 382


def embedding_answer(count: int) -> dict[str, object]:
    return {
        "model_name": "embedding",
        "model_version": "1.0.0",
        "outputs": [
            {"name": "embedding", "shape": [count, 384], "datatype": "FP32",
             "data": VECTOR * count},
            {"name": "truncated", "shape": [count], "datatype": "BOOL", "data": [False] * count},
        ],
    }  # fmt: skip


async def test_unanswered_calls_are_retried_until_one_succeeds() -> None:
    answers = [httpx.Response(503), httpx.Response(200, json=embedding_answer(1))]
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if not answers:
            raise httpx.ConnectError("refused")
        return answers.pop(0)

    client = client_for(httpx.MockTransport(handler))
    assert await client.embed([TEXT]) == [VECTOR]
    assert calls == ["/v2/models/embedding/infer"] * 2
    await client.aclose()


async def test_a_server_that_never_answers_is_unavailable_and_opens_the_breaker() -> None:
    calls: list[str] = []

    def refused(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ConnectError("connection refused")

    client = client_for(httpx.MockTransport(refused), retries=1, failures=2)
    for _ in range(2):
        with pytest.raises(inference.InferenceUnavailable, match="ConnectError"):
            await client.embed([TEXT])
    assert len(calls) == 4  # two calls, each tried twice
    with pytest.raises(inference.InferenceUnavailable, match="circuit open") as raised:
        await client.embed([TEXT])
    assert len(calls) == 4  # the open breaker sent nothing
    assert raised.value.retry_after > 0
    await client.aclose()


async def test_a_rejected_input_is_not_retried_and_keeps_the_breaker_closed() -> None:
    calls: list[str] = []

    def rejecting(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(400, json={"error": "text[0] is empty"})

    client = client_for(httpx.MockTransport(rejecting), failures=1)
    with pytest.raises(inference.InferenceRejected) as raised:
        await client.analyze([" "])
    assert raised.value.reason == "text[0] is empty"
    assert calls == ["/v2/models/analyzer/infer"]
    assert state(client.breaker) is breaker.State.CLOSED
    await client.aclose()


@pytest.mark.parametrize(
    "body",
    [
        {"outputs": []},
        {
            "model_version": "1",
            "outputs": [{"name": "embedding", "shape": [1, 3], "data": [1] * 3}],
        },
        {"model_version": "1", "outputs": [{"name": "embedding", "shape": [1, 384], "data": [1]}]},
        {"model_version": "1", "outputs": [{"name": "embedding", "shape": [2, 384], "data": []}]},
    ],
)
async def test_a_malformed_answer_is_an_inference_error(body: dict[str, object]) -> None:
    client = client_for(httpx.MockTransport(lambda _: httpx.Response(200, json=body)))
    with pytest.raises(inference.InferenceError, match="malformed"):
        await client.embed([TEXT])
    await client.aclose()
