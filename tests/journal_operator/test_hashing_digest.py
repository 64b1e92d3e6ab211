"""hashing.digest: a stable short digest of JSON-like data.

- equal data gives equal digests whatever the key order; different data differs;
- the length is what was asked for; the text is lowercase hex.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from journal_operator import hashing

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=5), JSON, max_size=6))
def test_key_order_does_not_matter(data: dict[str, Any]) -> None:
    reordered = dict(reversed(list(data.items())))
    assert hashing.digest(data) == hashing.digest(reordered)


def test_different_data_differs() -> None:
    assert hashing.digest({"a": 1}) != hashing.digest({"a": 2})
    assert hashing.digest({"a": 1}) != hashing.digest({"a": "1"})


def test_known_value_is_stable_across_processes() -> None:
    assert hashing.digest({"b": [1, 2], "a": "x"}) == hashing.digest({"a": "x", "b": [1, 2]})
    assert hashing.digest({}) == "44136fa355b3"  # sha256("{}")[:12]


@pytest.mark.parametrize("length", [1, 8, 64])
def test_length_is_respected(length: int) -> None:
    value = hashing.digest([1], length=length)
    assert len(value) == length
    assert set(value) <= set("0123456789abcdef")


def test_invalid_length_is_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        hashing.digest({}, length=0)
