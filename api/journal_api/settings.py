"""The API's one configuration object, read from `JOURNAL_API_*` environment variables.

`Settings()` is built in `__main__` (or by a test) and handed to `create_app`; nothing
else reads the environment. Secrets are `SecretStr` so they never print by accident,
and the default environment is production: the development placeholder signing key is
used only when `JOURNAL_API_ENVIRONMENT=development` is asked for explicitly, and a start
without a real key anywhere else fails with a message naming the variable to set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from journal_api import proxies

# Development-only signing key: used when `environment=development` sets no key, refused
# in every other environment.
PLACEHOLDER_JWT_KEY = "dev-only-insecure-jwt-signing-key-change-me"
MIN_JWT_KEY_LENGTH = 32


class Settings(BaseSettings):
    """Every knob the API reads, with its environment variable in the field description."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNAL_API_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
    )

    environment: Literal["development", "test", "staging", "production"] = "production"
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/journal",
        description="SQLAlchemy URL; postgresql:// and postgres:// are rewritten to asyncpg.",
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # How long a request waits for a pooled connection before answering 503.
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)

    # Empty: unset (the placeholder in development, a start-up error anywhere else).
    jwt_key: SecretStr = SecretStr("")
    jwt_kid: str = "k1"
    # The key before the last rotation: tokens it signed stay valid until they expire.
    jwt_previous_key: SecretStr | None = None
    jwt_previous_kid: str | None = None
    # Keys the HMAC of audit subjects (emails of failed logins); unset: derived from
    # `jwt_key`, whose rotation then changes the subjects recorded afterwards (keys.py).
    audit_key: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=1)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=1)
    # Every token names its issuer and audience; others are refused.
    jwt_issuer: str = Field(default="journal-api", min_length=1)
    jwt_audience: str = Field(default="journal-api", min_length=1)
    # Clock skew tolerated between replicas on `exp`/`iat` (tokens' `iat` is the DB clock).
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)
    # A used refresh token presented again this soon by the same client (a retry, a second
    # tab) gets a new pair instead of revoking its session; later or elsewhere it is a replay.
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0, le=300)

    # argon2id cost (OWASP-level defaults); tests lower it to keep the suite fast.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)
    # Failed attempt n (n >= 2) waits base * 2**(n-2) seconds, capped at 2 s.
    login_slowdown_base_seconds: float = Field(default=0.25, ge=0)
    # Password hashes computed at once per process (each takes a thread and its memory).
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)

    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_per_user: int = Field(default=600, ge=1)
    rate_limit_per_ip: int = Field(default=1200, ge=1)
    # `/api/v1/auth/*` per client address, and login/registration per email, per window.
    rate_limit_auth_per_ip: int = Field(default=30, ge=1)
    rate_limit_auth_per_account: int = Field(default=10, ge=1)
    # Proxies whose `X-Forwarded-For` is believed, as comma-separated CIDRs (the operator
    # sets its Ingress's); the client is the right-most address not in them (proxies.py).
    trusted_proxies: str = ""

    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # The rest of a refused (413) body is read and dropped up to these bounds, so that
    # closing the connection does not reset it before the client reads the 413.
    max_body_drain_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    body_drain_seconds: float = Field(default=5.0, ge=0)
    cache_ttl_seconds: int = Field(default=300, ge=1)
    # How long the cache client skips Redis after a failure before trying again.
    cache_retry_seconds: float = Field(default=1.0, ge=0)
    cache_timeout_seconds: float = Field(default=0.5, gt=0)
    # How long a user's auth state (existence, token cut-off, profile) stays cached.
    # Writes invalidate it at once; the TTL only bounds an invalidation Redis missed.
    auth_cache_ttl_seconds: int = Field(default=60, ge=1)

    # Serves `routes/bench.py` (the benchmark's ceiling endpoint); `make bench` only.
    bench_endpoints: bool = False
    # Serve the interactive docs (/docs, /redoc) and the OpenAPI document (/openapi.json).
    docs_enabled: bool = True

    # Bounded work per user: exports per window (429 beyond), entries and text kept (403).
    export_max_per_window: int = Field(default=5, ge=1)
    export_window_seconds: int = Field(default=3600, ge=1)
    quota_max_entries: int = Field(default=100_000, ge=1)
    # Characters of every entry's title and content together.
    quota_max_text_chars: int = Field(default=50_000_000, ge=1)

    # The worker (`python -m journal_api worker`, see `working.py`).
    worker_batch_size: int = Field(default=10, ge=1)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_max_attempts: int = Field(default=5, ge=1)
    # Attempt n waits base * 2**(n-1) seconds before the next one, at most the max.
    worker_retry_base_seconds: float = Field(default=5.0, ge=0)
    worker_retry_max_seconds: float = Field(default=3600.0, ge=0)
    # A claimed job is another worker's to take once its lease runs out (a crashed
    # worker); the liveness probe also fails when the loop stalls this long.
    worker_lease_seconds: int = Field(default=120, ge=1)
    # A user's themes are recomputed this long after the first of a burst of analyses
    # (or a deletion), so the burst costs one clustering.
    themes_refresh_delay_seconds: float = Field(default=30.0, ge=0)
    # `GET /healthz` and `GET /metrics` of the worker; 0 turns the listener off.
    worker_health_port: int = Field(default=8001, ge=0, le=65535)
    # Refresh tokens expired or revoked longer ago than this are deleted, periodically.
    token_purge_after_days: int = Field(default=7, ge=0)
    token_purge_interval_seconds: int = Field(default=3600, ge=1)

    # The model server (KServe V2 REST), e.g. http://analyzer:8080; set by the operator.
    # Unset: analysis jobs wait in the queue and semantic search answers 503.
    inference_url: str | None = None
    # One HTTP call to the model server, connect to last byte.
    inference_timeout_seconds: float = Field(default=10.0, gt=0)
    # Extra tries of a call the server did not answer (refused, timeout, 502/503/504);
    # try n waits a random time up to base * 2**(n-1) seconds (full jitter).
    inference_retries: int = Field(default=2, ge=0)
    inference_retry_base_seconds: float = Field(default=0.2, ge=0)
    # Failed calls in a row that open the circuit breaker; while open nothing is sent.
    inference_breaker_failures: int = Field(default=3, ge=1)
    # How long the breaker stays open before one probe; doubles per failed probe.
    inference_breaker_reset_seconds: float = Field(default=5.0, gt=0)
    inference_breaker_max_reset_seconds: float = Field(default=60.0, gt=0)
    # Texts are clipped to this many characters before analysis: the encoder reads
    # 256 tokens anyway, and the server refuses texts over its own limit (20000).
    analysis_max_text_chars: int = Field(default=4000, ge=1)
    # Texts per analyzer request (the server refuses more than its limit, 64).
    analysis_batch_texts: int = Field(default=32, ge=1)
    # HNSW candidate list per semantic query (pgvector `hnsw.ef_search`); at least `limit`.
    # 400: recall@10 0.99 for a user holding 100k of 300k entries (0.88 at 100), for a
    # few ms more per query (`python -m bench analysis --recall-only`).
    search_ef_search: int = Field(default=400, ge=1, le=1000)
    # Crisis lines shown instead of suggestions (knowledge/resources.py); None: the shipped file.
    crisis_resources_file: Path | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str) -> str:
        # Operators hand us libpq-style URLs; the async engine needs the asyncpg driver.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        return value

    @field_validator("inference_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        # Paths are appended as "/v2/models/...": "http://host:8080/" must not double it.
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("JOURNAL_API_INFERENCE_URL must be an http:// or https:// URL")
        return value.rstrip("/") if value is not None else None

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_cidrs(cls, value: str) -> str:
        try:
            proxies.parse(value)
        except ValueError as exc:
            raise ValueError(f"JOURNAL_API_TRUSTED_PROXIES: {exc}") from None
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_keys(self) -> Self:
        if not self.jwt_key.get_secret_value():
            if self.environment != "development":
                raise ValueError(
                    f"JOURNAL_API_JWT_KEY is not set: set it to a random value of at least "
                    f"{MIN_JWT_KEY_LENGTH} characters (environment {self.environment!r}; "
                    "JOURNAL_API_ENVIRONMENT=development uses a placeholder key for local runs)"
                )
            self.jwt_key = SecretStr(PLACEHOLDER_JWT_KEY)
        keys = [self.jwt_key] + ([self.jwt_previous_key] if self.jwt_previous_key else [])
        if self.environment != "development":
            for key in keys:
                value = key.get_secret_value()
                if value == PLACEHOLDER_JWT_KEY or len(value) < MIN_JWT_KEY_LENGTH:
                    raise ValueError(
                        "JOURNAL_API_JWT_KEY (and JOURNAL_API_JWT_PREVIOUS_KEY) must be set to a "
                        f"random value of at least {MIN_JWT_KEY_LENGTH} characters outside "
                        "development"
                    )
        if (self.jwt_previous_key is None) != (self.jwt_previous_kid is None):
            raise ValueError("JOURNAL_API_JWT_PREVIOUS_KEY and _PREVIOUS_KID go together")
        if self.jwt_previous_kid is not None and self.jwt_previous_kid == self.jwt_kid:
            raise ValueError("JOURNAL_API_JWT_PREVIOUS_KID must differ from JOURNAL_API_JWT_KID")
        return self
