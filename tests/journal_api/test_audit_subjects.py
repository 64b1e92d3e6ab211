"""Audit subjects for emails with no account: keyed hashes (HMAC with the server's audit
key), so someone holding the audit trail but not the key cannot test candidate emails
against it, as they could a plain SHA-256 of the email."""

from __future__ import annotations

import hashlib

import httpx
from journal_api import settings as settings_module
from journal_api.repositories import audit
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.journal_api.conftest import TEST_PASSWORD, unique_email

OTHER_KEY = "another-signing-key-0123456789abcdef0123456789abcdef"
AUDIT_KEY = "an-audit-key-of-its-own-0123456789abcdef0123456789ab"


async def subjects_of(settings: settings_module.Settings, event_type: str) -> list[str]:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT subject FROM audit_events WHERE event_type = :t"), {"t": event_type}
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def test_failed_login_of_an_unknown_email_is_audited_under_its_keyed_hash(
    client: httpx.AsyncClient, api_settings: settings_module.Settings
) -> None:
    email = unique_email("nobody")
    response = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 401
    subjects = await subjects_of(api_settings, audit.EventType.LOGIN_FAILURE)
    assert audit.email_subject(api_settings, email) in subjects
    assert hashlib.sha256(email.encode()).hexdigest() not in subjects
    assert email not in subjects


def test_the_subject_depends_on_the_server_key(api_settings: settings_module.Settings) -> None:
    email = "ada@example.com"
    subject = audit.email_subject(api_settings, email)
    assert subject == audit.email_subject(api_settings, "ADA@example.com")
    assert subject != hashlib.sha256(email.encode()).hexdigest()
    rotated = api_settings.model_copy(update={"jwt_key": SecretStr(OTHER_KEY)})
    assert audit.email_subject(rotated, email) != subject


def test_an_audit_key_keeps_subjects_across_a_jwt_key_rotation(
    api_settings: settings_module.Settings,
) -> None:
    email = "ada@example.com"
    with_audit_key = api_settings.model_copy(update={"audit_key": SecretStr(AUDIT_KEY)})
    rotated = with_audit_key.model_copy(update={"jwt_key": SecretStr(OTHER_KEY)})
    assert audit.email_subject(with_audit_key, email) == audit.email_subject(rotated, email)
    assert audit.email_subject(with_audit_key, email) != audit.email_subject(api_settings, email)
