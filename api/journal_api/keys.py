"""Keyed hashes with the server's secret: signed cursors and audit subjects.

Each purpose gets its own key, derived from one server secret with HMAC-SHA256 and the
purpose's name, so a value made for one purpose (a cursor signature) is never valid for
another (an audit subject). The secret is `JOURNAL_API_AUDIT_KEY` for audit subjects
when it is set, else `JOURNAL_API_JWT_KEY`: rotating the JWT key then invalidates
outstanding cursors (clients start the list again, a 422 says so) and changes the
subjects recorded from that moment on, which is why a deployment that correlates audit
events over time sets an audit key of its own. Called by `routes/entries.py` (cursors)
and the routes that record audit events about an email (`repositories/audit.py`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from journal_api import settings as settings_module

CURSOR, AUDIT_SUBJECT = "cursor", "audit-subject"
# 128 bits of HMAC: forging one is out of reach, and cursors stay short.
SIGNATURE_BYTES = 16


def derive(settings: settings_module.Settings, purpose: str) -> bytes:
    """The HMAC key for ``purpose`` (one of the constants above)."""
    secret = settings.jwt_key
    if purpose == AUDIT_SUBJECT and settings.audit_key is not None:
        secret = settings.audit_key
    return hmac.new(secret.get_secret_value().encode(), purpose.encode(), hashlib.sha256).digest()


def digest(key: bytes, value: bytes) -> str:
    """Hex HMAC-SHA256 of ``value``: a stand-in nobody without the key can reverse by
    trying candidate values."""
    return hmac.new(key, value, hashlib.sha256).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, payload: bytes) -> str:
    """``payload`` and its signature, as one URL-safe token (`<payload>.<signature>`)."""
    signature = hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return f"{_b64(payload)}.{_b64(signature)}"


def verify(key: bytes, token: str) -> bytes:
    """The payload of a token made by `sign` with ``key``.

    Raises:
        ValueError: not such a token (malformed, altered, or signed with another key).
    """
    encoded, dot, signature = token.partition(".")
    if not dot:
        raise ValueError("unsigned token")
    try:
        payload, given = _unb64(encoded), _unb64(signature)
    except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
        raise ValueError("malformed token") from exc
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    if not hmac.compare_digest(given, expected):
        raise ValueError("bad signature")
    return payload
