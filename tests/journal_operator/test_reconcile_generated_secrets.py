"""Generated secret values: created once, then read back unchanged on every pass.

Aspects under test (pure, no cluster):
- values read back from existing Secrets are returned as they are, pass after pass (they
  feed the pods' config hash: a value that changed would roll the pods every pass);
- an external database gets no password; a managed one gets a long random one;
- only the missing Secret's values are generated;
- a signing-keys Secret from before the audit key gets one, once: what the operator then
  writes reads back to the same values.
"""

from __future__ import annotations

import base64

from journal_operator import secrets_gen
from journal_operator.builders import secrets as secret_builders

from tests.journal_operator import factories


def _data(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


JWT_DATA = _data(
    {
        secret_builders.JWT_KEY: "k" * 64,
        secret_builders.JWT_KID_KEY: "kabc",
        secret_builders.AUDIT_KEY: "a" * 64,
    }
)
DB_DATA = _data({secret_builders.PASSWORD_KEY: "p" * 43})


def test_existing_secrets_are_read_back_identically_every_pass() -> None:
    first = secrets_gen.combine(database_data=DB_DATA, jwt_data=JWT_DATA, need_database=True)
    second = secrets_gen.combine(database_data=DB_DATA, jwt_data=JWT_DATA, need_database=True)
    assert first == second
    assert first.database_password == "p" * 43
    assert first.jwt_key == "k" * 64


def test_external_database_gets_no_password_and_a_stable_digest() -> None:
    first = secrets_gen.combine(database_data=None, jwt_data=JWT_DATA, need_database=False)
    second = secrets_gen.combine(database_data=None, jwt_data=JWT_DATA, need_database=False)
    assert first.database_password == ""
    assert first.digest() == second.digest()


def test_missing_database_secret_gets_a_fresh_password_and_keeps_jwt() -> None:
    values = secrets_gen.combine(database_data=None, jwt_data=JWT_DATA, need_database=True)
    assert len(values.database_password) >= 32
    assert values.jwt_key == "k" * 64


def test_new_platform_gets_random_values_that_differ_between_platforms() -> None:
    one = secrets_gen.combine(database_data=None, jwt_data=None, need_database=True)
    two = secrets_gen.combine(database_data=None, jwt_data=None, need_database=True)
    assert one.jwt_key != two.jwt_key
    assert one.database_password != two.database_password
    assert len(one.jwt_key) >= 32


def test_a_secret_without_an_audit_key_gets_one_that_then_stays() -> None:
    older = {k: v for k, v in JWT_DATA.items() if k != secret_builders.AUDIT_KEY}
    values = secrets_gen.combine(database_data=DB_DATA, jwt_data=older, need_database=True)
    assert len(values.audit_key) >= 32
    assert (values.jwt_key, values.jwt_kid) == ("k" * 64, "kabc")
    written = secret_builders.jwt_secret(factories.platform(), values)["data"]
    again = secrets_gen.combine(database_data=DB_DATA, jwt_data=written, need_database=True)
    assert again == values
    assert again.digest() == values.digest()


def test_the_audit_key_is_kept_and_differs_between_platforms() -> None:
    kept = secrets_gen.combine(database_data=DB_DATA, jwt_data=JWT_DATA, need_database=True)
    assert kept.audit_key == "a" * 64
    one = secrets_gen.combine(database_data=None, jwt_data=None, need_database=True)
    two = secrets_gen.combine(database_data=None, jwt_data=None, need_database=True)
    assert one.audit_key != two.audit_key
    assert one.audit_key != one.jwt_key
