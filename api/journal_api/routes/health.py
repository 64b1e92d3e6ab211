"""`/healthz` (liveness), `/readyz` (readiness) and `/metrics` (Prometheus).

Ready means: PostgreSQL answers and its schema is one this build can serve: its own
migration head, or a newer revision of the same compatibility line (a newer release's
expand-only migrations; ``migrating.schema_compatible``). Redis is reported but never makes
the API unready: the API serves without it.

`/readyz` answers anyone who can reach the pod, so it says only whether the schema is
compatible, never which revision it is at (that tells an attacker which release, and so
which known bugs, it is talking to); an incompatible schema logs both revisions instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from journal_api import deps, migrating

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 2.0
PROMETHEUS_MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "database": "ok",
                    "schema": "compatible",
                    "redis": "unavailable",
                }
            ]
        }
    )

    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    # "unknown" while the database is unreachable.
    schema_: Literal["compatible", "incompatible", "unknown"] = Field(alias="schema")
    redis: Literal["ok", "unavailable"]


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """The process is up and serving (no dependency is checked)."""
    return Liveness()


def _schema_state(connection: Connection) -> tuple[str | None, int | None]:
    return migrating.current_revision(connection), migrating.schema_line(connection)


async def _schema_revision(engine: AsyncEngine) -> tuple[str | None, int | None]:
    async with engine.connect() as connection:
        return await connection.run_sync(_schema_state)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request, response: Response, cache: deps.CacheDep) -> Readiness:
    """Ready to serve: the database answers and its schema is compatible with this build."""
    head: str | None = request.app.state.head_revision
    line: int | None = None
    try:
        revision, line = await asyncio.wait_for(
            _schema_revision(request.app.state.engine), CHECK_TIMEOUT_SECONDS
        )
        database: Literal["ok", "unreachable"] = "ok"
    except Exception:  # any failure to answer means "not ready", never a 500
        revision, database = None, "unreachable"
    try:
        redis_ok = await asyncio.wait_for(cache.ping(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        redis_ok = False
    compatible = database == "ok" and migrating.schema_compatible(revision, line, head=head)
    if database == "ok" and not compatible:
        logger.warning(
            "database schema incompatible with this build",
            extra={"schema_revision": revision, "head_revision": head, "schema_line": line},
        )
    response.status_code = 200 if compatible else 503
    return Readiness(
        status="ready" if compatible else "not_ready",
        database=database,
        schema="unknown" if database != "ok" else "compatible" if compatible else "incompatible",
        redis="ok" if redis_ok else "unavailable",
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request, registry: deps.MetricsDep) -> Response:
    """Prometheus metrics in the text exposition format."""
    pool = request.app.state.engine.pool
    registry.db_pool_checked_out.set(pool.checkedout())
    registry.db_pool_size.set(pool.size())
    registry.db_pool_overflow.set(max(0, pool.overflow()))
    return Response(registry.render(), media_type=PROMETHEUS_MEDIA_TYPE)
