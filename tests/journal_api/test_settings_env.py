"""Settings come from `JOURNAL_API_*` variables; unsafe signing keys are refused outside
development; libpq-style database URLs are accepted; the model server URL is optional
and normalised."""

from __future__ import annotations

import os
import subprocess
import sys

import pydantic
import pytest
from journal_api import settings as settings_module

STRONG_KEY = "k" * 48


def test_environment_variables_configure_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_API_ENVIRONMENT", "production")
    monkeypatch.setenv("JOURNAL_API_DATABASE_URL", "postgresql://app:pw@db:5432/journal")
    monkeypatch.setenv("JOURNAL_API_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("JOURNAL_API_JWT_KEY", STRONG_KEY)
    monkeypatch.setenv("JOURNAL_API_JWT_KID", "2026-11")
    monkeypatch.setenv("JOURNAL_API_JWT_PREVIOUS_KEY", "p" * 48)
    monkeypatch.setenv("JOURNAL_API_JWT_PREVIOUS_KID", "2026-10")
    monkeypatch.setenv("JOURNAL_API_PORT", "9000")
    monkeypatch.setenv("JOURNAL_API_INFERENCE_URL", "http://analyzer.journal.svc:8080/")
    monkeypatch.setenv("JOURNAL_API_INFERENCE_TIMEOUT_SECONDS", "2.5")
    settings = settings_module.Settings(_env_file=None)
    assert settings.database_url == "postgresql+asyncpg://app:pw@db:5432/journal"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.jwt_kid == "2026-11"
    assert settings.jwt_previous_kid == "2026-10"
    assert settings.port == 9000
    assert settings.inference_url == "http://analyzer.journal.svc:8080"
    assert settings.inference_timeout_seconds == 2.5
    assert STRONG_KEY not in repr(settings)


def test_the_model_server_is_optional_and_must_be_an_http_url() -> None:
    assert settings_module.Settings(_env_file=None, environment="development").inference_url is None
    with pytest.raises(pydantic.ValidationError, match="JOURNAL_API_INFERENCE_URL"):
        settings_module.Settings(
            _env_file=None, environment="development", inference_url="analyzer:8080"
        )


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
def test_placeholder_key_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="JOURNAL_API_JWT_KEY"):
        settings_module.Settings(_env_file=None, environment=environment)


def test_short_key_is_refused_in_production() -> None:
    with pytest.raises(pydantic.ValidationError, match="at least 32"):
        settings_module.Settings(
            _env_file=None,
            environment="production",
            jwt_key=pydantic.SecretStr("short"),
        )


def test_production_is_the_default_and_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_API_ENVIRONMENT", raising=False)
    monkeypatch.delenv("JOURNAL_API_JWT_KEY", raising=False)
    with pytest.raises(pydantic.ValidationError, match="JOURNAL_API_JWT_KEY is not set"):
        settings_module.Settings(_env_file=None)
    settings = settings_module.Settings(_env_file=None, jwt_key=pydantic.SecretStr(STRONG_KEY))
    assert settings.environment == "production"


def test_placeholder_key_is_allowed_in_development() -> None:
    settings = settings_module.Settings(_env_file=None, environment="development")
    assert settings.jwt_key.get_secret_value() == settings_module.PLACEHOLDER_JWT_KEY


def test_previous_key_needs_its_kid() -> None:
    with pytest.raises(pydantic.ValidationError, match="PREVIOUS"):
        settings_module.Settings(
            _env_file=None,
            environment="development",
            jwt_previous_key=pydantic.SecretStr(STRONG_KEY),
        )


@pytest.mark.parametrize("command", ["serve", "worker", "migrate"])
def test_a_start_without_a_key_names_the_variable(command: str) -> None:
    # No JOURNAL_API_* at all: production by default, so no placeholder key.
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOURNAL_API_")}
    result = subprocess.run(
        [sys.executable, "-m", "journal_api", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "JOURNAL_API_JWT_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("TRUSTED_PROXIES", "10.0.0.0/8, not-a-net"), ("JWT_LEEWAY_SECONDS", "-1")]
)
def test_bad_security_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"JOURNAL_API_{name}", value)
    with pytest.raises(pydantic.ValidationError, match=name.lower()):
        settings_module.Settings(_env_file=None, environment="development")


def test_server_refuses_to_start_with_the_placeholder_key_in_production() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOURNAL_API_")}
    result = subprocess.run(
        [sys.executable, "-m", "journal_api", "serve"],
        env={**env, "JOURNAL_API_ENVIRONMENT": "production"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "JOURNAL_API_JWT_KEY" in result.stderr
    assert "Traceback" not in result.stderr
