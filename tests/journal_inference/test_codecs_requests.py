"""Request decoding without a model: V1 bodies, V2 tensors, limits, and the 400 messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from journal_inference import codecs
from kserve import InferInput, InferRequest
from kserve.errors import InvalidInput

LIMITS = codecs.Limits(max_texts=4, max_text_chars=50)


def v2(
    data: list[Any], *, name: str = "text", datatype: str = "BYTES", shape: list[int] | None = None
) -> InferRequest:
    tensor = InferInput(name=name, shape=shape or [len(data)], datatype=datatype)
    if datatype == "BYTES":
        tensor.set_data_from_numpy(np.array(data, dtype=object).reshape(tensor.shape))
    else:
        tensor.set_data_from_numpy(np.array(data, dtype=np.float32))
    return InferRequest(model_name="analyzer", infer_inputs=[tensor])


def test_v1_accepts_strings_and_text_objects() -> None:
    body = {"instances": ["one", {"text": "two"}]}
    assert codecs.texts_from_v1(body, LIMITS) == ["one", "two"]


def test_v1_accepts_an_undeclared_json_body() -> None:
    assert codecs.texts_from_v1(b'{"instances": ["x"]}', LIMITS) == ["x"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": ["x"]}, "V1 body must be"),
        ({"instances": [1]}, "instances[0] must be a string"),
        ({"instances": []}, "instances is empty"),
        (b"{not json", "V1 body is not JSON"),
    ],
)
def test_v1_bad_bodies_name_the_problem(body: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        codecs.texts_from_v1(body, LIMITS)


def test_v2_decodes_utf8_bytes() -> None:
    assert codecs.texts_from_v2(v2(["héllo".encode(), b"two"]), LIMITS) == ["héllo", "two"]


def test_v2_invalid_utf8_names_the_element() -> None:
    with pytest.raises(InvalidInput, match=r"text\[1\] is not valid UTF-8"):
        codecs.texts_from_v2(v2([b"ok", b"\xff\xfe"]), LIMITS)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (v2(["a"], name="texts"), "exactly one input named 'text'"),
        (v2([1.0], datatype="FP32"), "datatype BYTES"),
        (v2(["a"], shape=[1, 1]), r"shape \[N\]"),
        (v2([" "]), r"text\[0\] is empty"),
        (v2(["a"] * 5), "at most 4 per request"),
        (v2(["x" * 51]), "has 51 characters; at most 50"),
    ],
)
def test_v2_bad_requests_name_the_problem(request_: InferRequest, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        codecs.texts_from_v2(request_, LIMITS)
