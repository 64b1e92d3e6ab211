"""The launchers start real servers: pgvector is loadable and Redis answers."""

from __future__ import annotations

import redis

from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer


def test_postgres_has_pgvector(postgres_server: PostgresServer) -> None:
    postgres_server.psql("CREATE EXTENSION IF NOT EXISTS vector")
    version = postgres_server.psql("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    assert version.startswith("0.8")


def test_redis_answers_ping(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.ping() is True
    finally:
        client.close()
