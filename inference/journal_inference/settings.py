"""Model server settings: one typed object, read from `JOURNAL_INFERENCE_*` variables.

Built once in `serving.main()` and passed down; nothing reads the environment elsewhere.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Task(StrEnum):
    """Which model names a server answers to (`all` serves the four from one encoder)."""

    ALL = "all"
    EMOTION = "emotion"
    SENTIMENT = "sentiment"
    EMBEDDING = "embedding"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOURNAL_INFERENCE_", extra="ignore")

    # Bind address. KServe listens on every interface; tests and `make dev` bind loopback.
    host: str = "0.0.0.0"  # noqa: S104 (a server in a pod must listen on its pod IP)
    http_port: int = Field(default=8080, ge=1, le=65535)
    grpc_port: int = Field(default=8081, ge=1, le=65535)
    enable_grpc: bool = True
    task: Task = Task.ALL
    # Empty: the artifact shipped inside the package.
    artifact_dir: Path | None = None
    # ONNX Runtime intra-op threads; 0 means one per CPU the process may use.
    threads: int = Field(default=0, ge=0, le=256)
    batching: bool = True
    max_batch_size: int = Field(default=32, ge=1, le=1024)
    max_batch_wait_ms: float = Field(default=2.0, ge=0, le=1000)
    # Request limits: a request over them is a 400, not a slow or failed forward pass.
    max_texts: int = Field(default=64, ge=1, le=4096)
    max_text_chars: int = Field(default=20_000, ge=1, le=1_000_000)
