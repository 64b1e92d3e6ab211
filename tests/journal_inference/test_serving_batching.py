"""Micro-batching in a real server: concurrent requests share forward passes; with batching
off, each request gets its own. Counted from the server's own /metrics."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.journal_inference.conftest import v2_body
from tests.support.inference import InferenceServer

REQUESTS = 32


def _passes_and_texts(url: str) -> tuple[float, float]:
    text = httpx.get(f"{url}/metrics").text
    count = re.search(r"^journal_inference_batch_size_count (\S+)$", text, re.M)
    total = re.search(r"^journal_inference_batch_size_sum (\S+)$", text, re.M)
    assert count
    assert total
    return float(count.group(1)), float(total.group(1))


def _concurrent_requests(url: str) -> tuple[float, float]:
    before = _passes_and_texts(url)

    async def fire() -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            rs = await asyncio.gather(
                *(
                    client.post(
                        f"{url}/v2/models/analyzer/infer",
                        json=v2_body([f"entry number {i}: a calm and ordinary day"]),
                    )
                    for i in range(REQUESTS)
                )
            )
        assert all(r.status_code == 200 for r in rs)

    asyncio.run(fire())
    after = _passes_and_texts(url)
    return after[0] - before[0], after[1] - before[1]


@pytest.fixture(scope="module")
def unbatched_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InferenceServer]:
    log = Path(tmp_path_factory.mktemp("unbatched")) / "server.log"
    server = InferenceServer(log, env={"JOURNAL_INFERENCE_BATCHING": "false"})
    server.start()
    yield server
    server.stop()


def test_concurrent_requests_share_forward_passes(inference_server: InferenceServer) -> None:
    passes, texts = _concurrent_requests(inference_server.url)
    assert texts == REQUESTS
    assert passes < REQUESTS / 2, f"{REQUESTS} concurrent requests took {passes} passes"


def test_without_batching_each_request_is_its_own_pass(unbatched_server: InferenceServer) -> None:
    passes, texts = _concurrent_requests(unbatched_server.url)
    assert (passes, texts) == (REQUESTS, REQUESTS)
