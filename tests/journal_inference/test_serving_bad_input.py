"""Bad input answers 400 with a message naming the problem, over REST and gRPC; never a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.journal_inference.conftest import v2_body
from tests.support.inference import InferenceServer

BAD_V2: list[tuple[Any, str]] = [
    (
        {"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]}]},
        "datatype BYTES",
    ),
    (
        {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a"]}]},
        "does not match its shape",
    ),
    (
        {"inputs": [{"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": ["a"]}]},
        "shape [N]",
    ),
    (v2_body([""]), "text[0] is empty"),
    (v2_body(["ok", "   "]), "text[1] is empty"),
    (
        {"inputs": [{"name": "words", "shape": [1], "datatype": "BYTES", "data": ["a"]}]},
        "exactly one input named 'text'",
    ),
    ({"inputs": []}, "exactly one input named 'text'"),
    (v2_body(["x"] * 65), "at most 64 per request"),
    (v2_body(["x" * 20_001]), "at most 20000"),
    ({"no": "inputs"}, "invalid request body"),
]


@pytest.mark.parametrize(("body", "message"), BAD_V2)
def test_v2_bad_input_is_a_400_naming_the_problem(
    inference_server: InferenceServer, body: Any, message: str
) -> None:
    r = httpx.post(f"{inference_server.url}/v2/models/analyzer/infer", json=body, timeout=30)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


def test_v2_body_that_is_not_json_is_a_400(inference_server: InferenceServer) -> None:
    r = httpx.post(
        f"{inference_server.url}/v2/models/analyzer/infer",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400, r.text


def test_v1_bad_body_is_a_400(inference_server: InferenceServer) -> None:
    r = httpx.post(f"{inference_server.url}/v1/models/analyzer:predict", json={"texts": ["a"]})
    assert r.status_code == 400
    assert "V1 body must be" in r.json()["error"]


def test_unknown_model_is_a_404(inference_server: InferenceServer) -> None:
    r = httpx.post(f"{inference_server.url}/v2/models/nope/infer", json=v2_body(["a"]))
    assert r.status_code == 404


def test_grpc_invalid_utf8_is_invalid_argument(inference_server: InferenceServer) -> None:
    async def call() -> None:
        client = InferenceGRPCClient(inference_server.grpc_target)
        tensor = InferInput(name="text", shape=[2], datatype="BYTES")
        tensor.set_data_from_numpy(np.array([b"fine", b"\xff\xfe broken"], dtype=object))
        await client.infer(InferRequest(model_name="analyzer", infer_inputs=[tensor]))

    with pytest.raises(grpc.aio.AioRpcError) as err:
        asyncio.run(call())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "text[1] is not valid UTF-8" in (err.value.details() or "")


def test_server_still_answers_after_bad_input(inference_server: InferenceServer) -> None:
    r = httpx.post(f"{inference_server.url}/v2/models/analyzer/infer", json=v2_body(["fine"]))
    assert r.status_code == 200
