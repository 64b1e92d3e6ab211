"""Stable short digests of JSON-like data, for spec-hash annotations and name suffixes.

Builders put `digest(...)` of what a pod consumes on its template, so a change rolls the
pods and anything else leaves them alone (CloudNativePG's spec-hash idea); `naming` uses it
to keep truncated names unique. Pure: the same data gives the same digest in every process.
"""

from __future__ import annotations

import hashlib
import json

DEFAULT_LENGTH = 12


def canonical_json(data: object) -> str:
    """JSON with sorted keys and no insignificant whitespace: one text per value."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(data: object, *, length: int = DEFAULT_LENGTH) -> str:
    """The first `length` hex characters of the SHA-256 of `canonical_json(data)`.

    Args:
        data: Anything `json.dumps` accepts (dicts, lists, strings, numbers, None).
        length: How many hex characters to keep (1 to 64).

    Raises:
        TypeError: When `data` holds a value JSON cannot represent.
    """
    if not 1 <= length <= 64:
        raise ValueError(f"length must be between 1 and 64, not {length}")
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:length]
