"""The operator's one typed settings object, and how it configures Kopf.

``OperatorSettings`` is read from ``JOURNAL_OPERATOR_*`` environment variables by
``__main__.main()`` (never at import time) and handed to Kopf's startup handler through
the memo; ``configure_kopf()`` translates it into Kopf's own settings there.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import kopf
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Kopf's bookkeeping lives under the project's own names, not kopf.zalando.org (what
# crate-operator does), so `kubectl get -o yaml` says who wrote what.
PERSISTENCE_PREFIX = "operator.journalplatform.io"
FINALIZER = f"{PERSISTENCE_PREFIX}/finalizer"


class OperatorSettings(BaseSettings):
    """Everything an operator deployment can tune, from ``JOURNAL_OPERATOR_*`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNAL_OPERATOR_", env_ignore_empty=True, extra="ignore"
    )

    namespaces: list[str] = Field(
        default_factory=list,
        description="Namespaces to watch (comma-separated or JSON list); empty = all namespaces.",
    )
    kubeconfig: str | None = Field(
        default=None, description="Kubeconfig path; unset = $KUBECONFIG, then in-cluster."
    )
    resync_seconds: float = Field(
        default=20.0,
        gt=0,
        description="How often every platform is re-observed and status rewritten.",
    )
    liveness_host: str = "127.0.0.1"
    liveness_port: int = Field(default=8080, ge=0, le=65535, description="0 disables /healthz.")
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9090, ge=0, le=65535, description="0 disables /metrics.")
    reconcile_concurrency: int = Field(
        default=10, ge=1, description="Reconcile passes running at once, across all platforms."
    )
    posting_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["plain", "full", "json"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Watch-stream guards against the "operator silently stops" class of bugs (kopf#1267):
    # the server closes the watch first, the client gives up a little later.
    watch_server_timeout: int = Field(default=300, gt=0)  # the API server wants an integer
    watch_client_timeout: float = Field(default=330.0, gt=0)
    watch_inactivity_timeout: float = Field(default=70.0, gt=0)
    request_timeout: float = Field(default=60.0, gt=0)
    migration_retry_backoff: float = Field(
        default=30.0, gt=0, description="First delay before re-checking a failed step; doubles."
    )

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: Any) -> Any:
        # A comma list is what people type into a Deployment's env; JSON lists work too.
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def clusterwide(self) -> bool:
        """Whether the operator watches every namespace."""
        return not self.namespaces


def configure_kopf(settings: OperatorSettings, kopf_settings: kopf.OperatorSettings) -> None:
    """Apply our settings to Kopf's, inside the ``@kopf.on.startup`` handler.

    Args:
        settings: the operator's own settings.
        kopf_settings: Kopf's mutable settings for this operator run.
    """
    kopf_settings.persistence.finalizer = FINALIZER
    kopf_settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=PERSISTENCE_PREFIX, v1=False
    )
    kopf_settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PERSISTENCE_PREFIX, key="last-handled-configuration", v1=False
    )
    kopf_settings.posting.level = logging.getLevelName(settings.posting_level)
    kopf_settings.posting.reporting_component = "journal-operator"
    kopf_settings.watching.server_timeout = settings.watch_server_timeout
    kopf_settings.watching.client_timeout = settings.watch_client_timeout
    kopf_settings.watching.inactivity_timeout = settings.watch_inactivity_timeout
    kopf_settings.networking.request_timeout = settings.request_timeout
    kopf_settings.networking.error_backoffs = (1, 2, 4, 8, 16, 32)
    # Kopf's own worker_limit stays unlimited on purpose: a worker that has indexed its object
    # holds its slot until *every* index is filled, so with more objects of one kind than
    # slots the operator deadlocks at startup. Work is bounded by reconcile_concurrency.
    kopf_settings.queueing.worker_limit = None
    # Bounded, growing retry delays for handlers that raise plain exceptions.
    kopf_settings.execution.default_backoff = settings.migration_retry_backoff
    # Daemons poll nothing (they are async and cancellable): stop them promptly.
    kopf_settings.background.cancellation_polling = 5
