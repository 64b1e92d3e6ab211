"""The list cursor: what `Keyset.encode` makes `decode` reads back with the same key, and
anything else a client might send (made up, altered, signed with another key, or signed
but not a keyset) is a ValueError (a 422), never another exception (a 500)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from journal_api import keys
from journal_api.repositories import entries

KEYSETS = st.builds(
    entries.Keyset,
    entry_date=st.dates(),
    created_at=st.datetimes(timezones=st.just(dt.UTC)),
    id=st.uuids(),
)
KEY, OTHER_KEY = b"k" * 32, b"o" * 32


@given(KEYSETS)
def test_cursor_round_trips(keyset: entries.Keyset) -> None:
    assert entries.Keyset.decode(keyset.encode(KEY), KEY) == keyset


@given(st.text(max_size=200))
def test_arbitrary_text_is_a_value_error_or_a_keyset(cursor: str) -> None:
    with contextlib.suppress(ValueError):
        entries.Keyset.decode(cursor, KEY)


@given(st.binary(max_size=200))
def test_arbitrary_base64_payload_is_a_value_error_or_a_keyset(payload: bytes) -> None:
    with contextlib.suppress(ValueError):
        entries.Keyset.decode(base64.urlsafe_b64encode(payload).decode(), KEY)


@given(KEYSETS)
def test_a_cursor_signed_with_another_key_is_refused(keyset: entries.Keyset) -> None:
    with pytest.raises(ValueError, match="bad signature"):
        entries.Keyset.decode(keyset.encode(OTHER_KEY), KEY)


@given(st.binary(max_size=200))
def test_any_payload_signed_with_the_key_is_a_value_error_or_a_keyset(payload: bytes) -> None:
    with contextlib.suppress(ValueError):
        entries.Keyset.decode(keys.sign(KEY, payload), KEY)


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b"{}",
        b"null",
        b'["2026-01-01", "2026-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"]',
        b'["2026-01-01", "2026-01-01T00:00:00+00:00", "nope"]',
        b"[1, 2, 3]",
        b'["2024-01-01","2024-01-01T00:00:00+00:00",1]',
        b'["2026-01-01", "2026-01-01T00:00:00+00:00", "%s", 4]' % str(uuid.uuid4()).encode(),
    ],
)
def test_well_formed_but_wrong_cursors_are_value_errors(payload: bytes) -> None:
    with pytest.raises(ValueError, match="malformed cursor"):
        entries.Keyset.decode(keys.sign(KEY, payload), KEY)
