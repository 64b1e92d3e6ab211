"""Every protocol path of a real model server process on the committed artifact.

V1, the Open Inference Protocol V2 over REST and gRPC, metadata and health: output names,
shapes, label names and value ranges as documented in inference/README.md.
"""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.journal_inference.conftest import EKMAN, EMOTIONS, SENTIMENT, TEXTS, infer, outputs
from tests.support.inference import InferenceServer


def test_analyzer_returns_every_output_for_every_text(inference_server: InferenceServer) -> None:
    body = infer(inference_server.url, "analyzer", TEXTS)
    out = outputs(body)
    n = len(TEXTS)
    assert out["ekman"]["shape"] == [n]
    assert set(out["ekman"]["data"]) <= set(EKMAN)
    assert out["labels"]["shape"] == [n]
    assert out["labels"]["datatype"] == "BYTES"
    for joined in out["labels"]["data"]:
        assert set(filter(None, joined.split(","))) <= set(EMOTIONS)
    assert out["scores"]["shape"] == [n, 28]
    assert out["scores"]["datatype"] == "FP32"
    scores = np.array(out["scores"]["data"]).reshape(n, 28)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert out["label"]["shape"] == [n]
    assert set(out["label"]["data"]) <= set(SENTIMENT)
    polarity = np.array(out["polarity"]["data"])
    assert polarity.shape == (n,)
    assert ((polarity >= -1) & (polarity <= 1)).all()
    emb = np.array(out["embedding"]["data"]).reshape(n, 384)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-3)
    assert body["parameters"]["model_version"] == body["model_version"]
    assert out["truncated"]["data"] == [False] * n


def test_request_without_id_gets_one(inference_server: InferenceServer) -> None:
    assert infer(inference_server.url, "embedding", ["no id here"])["id"]
    assert infer(inference_server.url, "embedding", ["an id"], id="req-7")["id"] == "req-7"


def test_task_models_agree_with_the_analyzer(inference_server: InferenceServer) -> None:
    url = inference_server.url
    full = outputs(infer(url, "analyzer", TEXTS))
    emotion = outputs(infer(url, "emotion", TEXTS))
    sentiment = outputs(infer(url, "sentiment", TEXTS))
    embedding = outputs(infer(url, "embedding", TEXTS))
    assert set(emotion) == {"ekman", "labels", "scores", "truncated"}
    assert set(sentiment) == {"label", "polarity", "truncated"}
    assert set(embedding) == {"embedding", "truncated"}
    assert emotion["ekman"]["data"] == full["ekman"]["data"]
    assert sentiment["label"]["data"] == full["label"]["data"]
    # int8 kernels may differ in the last bits between batch compositions.
    assert np.allclose(embedding["embedding"]["data"], full["embedding"]["data"], atol=1e-3)


def test_scores_columns_follow_emotions_txt(inference_server: InferenceServer) -> None:
    out = outputs(infer(inference_server.url, "emotion", TEXTS))
    scores = np.array(out["scores"]["data"]).reshape(len(TEXTS), 28)
    for row, joined in zip(scores, out["labels"]["data"], strict=True):
        names = [n for n in joined.split(",") if n]
        # labels are listed strongest first, so their scores are in descending order
        assert [row[EMOTIONS.index(n)] for n in names] == sorted(
            (row[EMOTIONS.index(n)] for n in names), reverse=True
        )


def test_long_text_is_truncated_and_says_so(inference_server: InferenceServer) -> None:
    long_text = "I walked to the river and thought about the week. " * 80  # ~900 tokens
    out = outputs(infer(inference_server.url, "analyzer", [long_text, "short"]))
    assert out["truncated"]["data"] == [True, False]


def test_v1_predict(inference_server: InferenceServer) -> None:
    r = httpx.post(
        f"{inference_server.url}/v1/models/analyzer:predict",
        json={"instances": TEXTS[:2]},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    predictions = r.json()["predictions"]
    assert len(predictions) == 2
    p = predictions[0]
    assert set(p) == {"ekman", "labels", "scores", "label", "polarity", "embedding", "truncated"}
    assert list(p["scores"]) == list(EMOTIONS)
    assert len(p["embedding"]) == 384


def test_grpc_infer_and_readiness(inference_server: InferenceServer) -> None:
    async def call() -> tuple[bool, dict[str, np.ndarray], str | None]:
        client = InferenceGRPCClient(inference_server.grpc_target)
        tensor = InferInput(name="text", shape=[2], datatype="BYTES")
        tensor.set_data_from_numpy(np.array([t.encode() for t in TEXTS[:2]], dtype=object))
        ready = await client.is_server_ready()
        res = await client.infer(InferRequest(model_name="analyzer", infer_inputs=[tensor]))
        return ready, {o.name: o.as_numpy() for o in res.outputs}, res.model_version

    ready, out, version = asyncio.run(call())
    assert ready
    assert out["embedding"].shape == (2, 384)
    assert out["scores"].shape == (2, 28)
    assert version


def test_health_metadata_and_listing(inference_server: InferenceServer) -> None:
    url = inference_server.url
    assert httpx.get(f"{url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{url}/v2/health/ready").json() == {"ready": True}
    assert set(httpx.get(f"{url}/v1/models").json()["models"]) == {
        "emotion",
        "sentiment",
        "embedding",
        "analyzer",
    }
    for name in ("emotion", "sentiment", "embedding", "analyzer"):
        assert httpx.get(f"{url}/v2/models/{name}/ready").json()["ready"] is True
        assert httpx.get(f"{url}/v2/models/{name}").json()["name"] == name


def test_metrics_expose_latency_batches_and_queue_wait(inference_server: InferenceServer) -> None:
    infer(inference_server.url, "analyzer", TEXTS)
    text = httpx.get(f"{inference_server.url}/metrics").text
    assert 'request_predict_seconds_count{model_name="analyzer"}' in text
    assert "journal_inference_batch_size_count" in text
    assert "journal_inference_queue_wait_seconds_count" in text
    assert "journal_inference_ready 1.0" in text
