"""Wire formats ⇄ Python values for the four models; pure, tested without a model.

Requests: V1 `{"instances": ["text", ...]}` (or `[{"text": "..."}]`), V2 / gRPC one `BYTES`
tensor named `text` of shape `[N]`. Every problem raises `kserve.errors.InvalidInput` with a
message that names it, which KServe answers with 400. Responses: see inference/README.md.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse
from kserve.errors import InvalidInput

from journal_inference import artifact, runtime

MODELS = ("emotion", "sentiment", "embedding", "analyzer")
INPUT_NAME = "text"


@dataclasses.dataclass(frozen=True)
class Limits:
    max_texts: int
    max_text_chars: int


def texts_from_v1(payload: Any, limits: Limits) -> list[str]:
    """Texts of a V1 body: `{"instances": [str | {"text": str}, ...]}`."""
    if isinstance(payload, bytes | bytearray):  # a client that sent no JSON content type
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise InvalidInput(f"V1 body is not JSON: {exc}") from exc
    instances = payload.get("instances") if isinstance(payload, dict) else None
    if not isinstance(instances, list):
        raise InvalidInput('V1 body must be {"instances": ["text", ...]}')
    texts: list[str] = []
    for n, item in enumerate(instances):
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise InvalidInput(f'instances[{n}] must be a string or {{"text": string}}')
        texts.append(text)
    return _checked(texts, limits, where="instances")


def texts_from_v2(request: InferRequest, limits: Limits) -> list[str]:
    """Texts of a V2 (REST or gRPC) request: one BYTES input named `text`, shape [N]."""
    if len(request.inputs) != 1 or request.inputs[0].name != INPUT_NAME:
        names = [i.name for i in request.inputs]
        raise InvalidInput(f"expected exactly one input named {INPUT_NAME!r}, got {names}")
    tensor = request.inputs[0]
    if tensor.datatype != "BYTES":
        raise InvalidInput(f"input {INPUT_NAME!r} must have datatype BYTES, got {tensor.datatype}")
    if len(tensor.shape) != 1:
        raise InvalidInput(f"input {INPUT_NAME!r} must have shape [N], got {list(tensor.shape)}")
    try:
        values = tensor.as_numpy()
    except Exception as exc:  # kserve raises assorted errors for data that mismatch the shape
        raise InvalidInput(f"input {INPUT_NAME!r}: data does not match its shape: {exc}") from exc
    values = values.ravel()
    if values.shape[0] != tensor.shape[0]:
        raise InvalidInput(
            f"input {INPUT_NAME!r} has {values.shape[0]} elements but shape {list(tensor.shape)}"
        )
    texts = []
    for n, v in enumerate(values.tolist()):
        if isinstance(v, bytes | bytearray):
            try:
                v = bytes(v).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"{INPUT_NAME}[{n}] is not valid UTF-8: {exc.reason}") from exc
        if not isinstance(v, str):
            raise InvalidInput(f"{INPUT_NAME}[{n}] must be a string")
        texts.append(v)
    return _checked(texts, limits, where=INPUT_NAME)


def _checked(texts: list[str], limits: Limits, *, where: str) -> list[str]:
    if not texts:
        raise InvalidInput(f"{where} is empty: send at least one text")
    if len(texts) > limits.max_texts:
        raise InvalidInput(
            f"{where} has {len(texts)} texts; at most {limits.max_texts} per request"
        )
    for n, t in enumerate(texts):
        if not t.strip():
            raise InvalidInput(f"{where}[{n}] is empty")
        if len(t) > limits.max_text_chars:
            raise InvalidInput(
                f"{where}[{n}] has {len(t)} characters; at most {limits.max_text_chars}"
            )
    return texts


def v2_response(
    model: str, art: artifact.Artifact, out: runtime.Analysis, request_id: str | None
) -> InferResponse:
    """The V2 response of one model (see the contract in inference/README.md)."""
    outputs = [*_tensors(model, art, out), _tensor("truncated", out.truncated, "BOOL")]
    parameters: dict[str, Any] = {"max_tokens": art.max_tokens}
    if model == "analyzer":
        parameters["model_version"] = art.version
    return InferResponse(
        model_name=model,
        model_version=art.version,
        infer_outputs=outputs,
        # The protocol makes `id` optional; kserve answers 500 when the response has none.
        response_id=request_id or str(uuid.uuid4()),
        parameters=parameters,
    )


def _tensors(model: str, art: artifact.Artifact, out: runtime.Analysis) -> list[InferOutput]:
    tensors: list[InferOutput] = []
    if model in {"emotion", "analyzer"}:
        tensors += [
            _tensor(
                "ekman", np.array(runtime.top(art.space.ekman, out.ekman), dtype=object), "BYTES"
            ),
            _tensor(
                "labels",
                np.array(
                    [",".join(r) for r in runtime.labels_above(art, out.emotion)], dtype=object
                ),
                "BYTES",
            ),
            _tensor("scores", out.emotion, "FP32"),
        ]
    if model in {"sentiment", "analyzer"}:
        tensors += [
            _tensor(
                "label",
                np.array(runtime.top(art.space.sentiment, out.sentiment), dtype=object),
                "BYTES",
            ),
            _tensor("polarity", out.polarity, "FP32"),
        ]
    if model in {"embedding", "analyzer"}:
        tensors.append(_tensor("embedding", out.embedding, "FP32"))
    return tensors


def _tensor(name: str, data: np.ndarray, datatype: str) -> InferOutput:
    tensor = InferOutput(name=name, shape=list(data.shape), datatype=datatype)
    tensor.set_data_from_numpy(data, binary_data=False)
    return tensor


def v1_response(model: str, art: artifact.Artifact, out: runtime.Analysis) -> dict[str, Any]:
    """The V1 response: one JSON object per instance."""
    names = runtime.labels_above(art, out.emotion)
    ekman = runtime.top(art.space.ekman, out.ekman)
    sentiment = runtime.top(art.space.sentiment, out.sentiment)
    predictions = []
    for i in range(len(out)):
        row: dict[str, Any] = {}
        if model in {"emotion", "analyzer"}:
            row |= {
                "ekman": ekman[i],
                "labels": names[i],
                "scores": {
                    n: round(float(s), 6)
                    for n, s in zip(art.space.emotions, out.emotion[i], strict=True)
                },
            }
        if model in {"sentiment", "analyzer"}:
            row |= {"label": sentiment[i], "polarity": round(float(out.polarity[i]), 6)}
        if model in {"embedding", "analyzer"}:
            row["embedding"] = [round(float(x), 7) for x in out.embedding[i]]
        row["truncated"] = bool(out.truncated[i])
        predictions.append(row)
    return {"predictions": predictions, "model_version": art.version}
