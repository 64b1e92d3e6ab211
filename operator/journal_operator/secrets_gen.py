"""Generate a platform's secret values: passwords, the JWT signing key and the audit key.

Called by ``reconcile.ensure_secrets`` only when a generated Secret does not exist yet; the
values then live in that Secret and are read back on later passes, never regenerated,
logged, or copied into status or events. Uses the ``secrets`` module (a CSPRNG).
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
from collections.abc import Mapping

from journal_operator.builders import secrets as secret_builders

PASSWORD_BYTES = 32  # 43 URL-safe characters
JWT_KEY_BYTES = 48  # 64 URL-safe characters; the API requires at least 32
AUDIT_KEY_BYTES = 48


def generate() -> secret_builders.GeneratedSecrets:
    """Fresh random values for a new platform."""
    return secret_builders.GeneratedSecrets(
        database_password=secrets.token_urlsafe(PASSWORD_BYTES),
        jwt_key=secrets.token_urlsafe(JWT_KEY_BYTES),
        jwt_kid=f"k{secrets.token_hex(4)}",
        cache_password=secrets.token_urlsafe(PASSWORD_BYTES),
        database_superuser_password=secrets.token_urlsafe(PASSWORD_BYTES),
        audit_key=secrets.token_urlsafe(AUDIT_KEY_BYTES),
    )


def combine(
    *,
    database_data: Mapping[str, str] | None,
    jwt_data: Mapping[str, str] | None,
    need_database: bool,
    cache_data: Mapping[str, str] | None = None,
    need_cache: bool = False,
) -> secret_builders.GeneratedSecrets:
    """Keep every value that already exists; generate only the missing ones.

    The result must be the same on every pass once the Secrets exist: it feeds the pods'
    config hash, so a value that changed between passes would roll the pods each time.

    Args:
        database_data: ``.data`` of the existing database Secret, or None when absent.
        jwt_data: ``.data`` of the existing JWT Secret, or None when absent.
        need_database: whether the platform runs the managed database (which needs a
            password); an external database gets none.
        cache_data: ``.data`` of the existing Redis Secret, or None when absent.
        need_cache: whether the platform runs the managed Redis (which needs a password).
    """
    fresh = generate()
    if not need_database:
        database_data = None
        fresh = dataclasses.replace(fresh, database_password="", database_superuser_password="")
    if not need_cache:
        cache_data = None
        fresh = dataclasses.replace(fresh, cache_password="")
    if jwt_data is None:
        jwt_data = {
            secret_builders.JWT_KEY: _b64(fresh.jwt_key),
            secret_builders.JWT_KID_KEY: _b64(fresh.jwt_kid),
        }
    kept = secret_builders.read_generated(database_data, jwt_data, cache_data)
    if database_data is None:
        kept = dataclasses.replace(
            kept,
            database_password=fresh.database_password,
            database_superuser_password=fresh.database_superuser_password,
        )
    if cache_data is None:
        kept = dataclasses.replace(kept, cache_password=fresh.cache_password)
    if not kept.audit_key:
        # A platform created before the audit key existed gets one, once: it is then read
        # back like every other value.
        kept = dataclasses.replace(kept, audit_key=fresh.audit_key)
    return kept


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()
