"""Benchmark-only routes: the "ceiling" the API benchmark compares every scenario to.

`create_app` includes this router only when `JOURNAL_API_BENCH_ENDPOINTS=1`; it never
exists in a normal deployment. `GET /api/v1/bench/ceiling?size=N` returns an N-byte
JSON body through the same middleware stack, without authentication or the database.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1/bench", tags=["bench"])

MAX_SIZE = 1024 * 1024


class CeilingBody(BaseModel):
    padding: str


@functools.lru_cache(maxsize=64)
def _body(size: int) -> bytes:
    overhead = len(b'{"padding":""}')
    return b'{"padding":"' + b"x" * max(0, size - overhead) + b'"}'


@router.get("/ceiling", response_model=CeilingBody)
async def ceiling(size: Annotated[int, Query(ge=0, le=MAX_SIZE)] = 4096) -> Response:
    """A JSON body of about `size` bytes, built once and then served from memory."""
    return Response(_body(size), media_type="application/json")
