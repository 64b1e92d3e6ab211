"""The one Redis client every part of the API uses: JSON cache, counters, scripts.

Redis is an optimisation here, never a dependency: every call tolerates Redis being
down. A failure is logged once, counted in `journal_api_cache_errors_total`, and
answered as a miss (``None``); for `cache_retry_seconds` after a failure calls skip
Redis entirely so a dead server costs nothing per request, then the next call tries
again, which is how the API recovers on its own when Redis returns.

Keys are always namespaced per user: build them with `user_key(user_id, ...)`, never
by hand, so one user's data can never be served to another.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pydantic_core
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from journal_api import metrics as metrics_module

KEY_PREFIX = "journal"
# Keys unlinked per command when purging a user's keys.
_PURGE_BATCH = 500
logger = logging.getLogger(__name__)
T = TypeVar("T")


def user_key(user_id: uuid.UUID | str, *parts: object) -> str:
    """A cache key private to one user: ``journal:u:<user_id>:<part>:<part>...``."""
    return ":".join([KEY_PREFIX, "u", str(user_id), *(str(part) for part in parts)])


def global_key(*parts: object) -> str:
    """A key not tied to a user (rate-limit counters keyed by IP, for example)."""
    return ":".join([KEY_PREFIX, "g", *(str(part) for part in parts)])


class Cache:
    """An async Redis wrapper that degrades to "always miss" while Redis is unreachable.

    Args:
        url: ``redis://host:port/db``.
        metrics: where hits, misses and errors are counted.
        timeout: seconds for connecting and for each command.
        retry_seconds: how long to skip Redis after a failure.
    """

    def __init__(
        self,
        url: str,
        *,
        metrics: metrics_module.Metrics,
        timeout: float = 0.5,
        retry_seconds: float = 1.0,
    ) -> None:
        # No client-side retries: a retry loop while Redis is down only adds latency.
        self.client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._metrics = metrics
        self._scripts: dict[str, AsyncScript] = {}
        self._retry_seconds = retry_seconds
        self._skip_until = 0.0
        self._down = False

    @property
    def available(self) -> bool:
        """False while Redis is considered down (after a failure, until a call succeeds)."""
        return not self._down

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        if self._down and time.monotonic() < self._skip_until:
            self._metrics.cache_errors.inc()
            return None
        try:
            result = await operation()
        except (TimeoutError, RedisError, OSError) as exc:
            self._metrics.cache_errors.inc()
            if not self._down:
                logger.warning(
                    "redis unavailable, bypassing it", extra={"error": type(exc).__name__}
                )
            self._down = True
            self._skip_until = time.monotonic() + self._retry_seconds
            return None
        if self._down:
            logger.info("redis is back")
            self._down = False
        return result

    async def get_json(self, key: str) -> Any | None:
        """The decoded value at ``key``, or None on a miss (or while Redis is down)."""
        raw = await self._call(lambda: self.client.get(key))
        if raw is None:
            self._metrics.cache_misses.inc()
            return None
        self._metrics.cache_hits.inc()
        return json.loads(raw)

    async def set_json(self, key: str, value: Any, *, ttl: int) -> None:
        """Store ``value`` (anything pydantic can serialise) at ``key`` for ``ttl`` seconds."""
        payload = pydantic_core.to_json(value)
        await self._call(lambda: self.client.set(key, payload, ex=ttl))

    async def delete(self, *keys: str) -> None:
        """Delete exactly these keys (no patterns: invalidation stays precise)."""
        if keys:
            await self._call(lambda: self.client.delete(*keys))

    async def purge_user(self, user_id: uuid.UUID) -> int | None:
        """Delete every key of ``user_id`` (`user_key`): cached bodies, generation, auth
        state. For a deleted account only; everything else invalidates precisely.

        Returns:
            How many keys were deleted, or None if Redis is down.
        """
        pattern = user_key(user_id, "*")

        async def run() -> int:
            # SCAN walks the keyspace in steps, so Redis never blocks on one long command.
            deleted, batch = 0, []
            async for key in self.client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= _PURGE_BATCH:
                    deleted += int(await self.client.unlink(*batch))
                    batch = []
            if batch:
                deleted += int(await self.client.unlink(*batch))
            return deleted

        return await self._call(run)

    async def incr(self, key: str, *, ttl: int | None = None) -> int | None:
        """Increment the counter at ``key``; returns the new value, or None if Redis is down.

        Args:
            key: the counter.
            ttl: seconds until the counter expires, (re)set on every increment.
        """

        async def run() -> int:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                if ttl is not None:
                    pipe.expire(key, ttl)
                results = await pipe.execute()
            return int(results[0])

        return await self._call(run)

    async def get_int(self, key: str) -> int | None:
        """The integer at ``key`` (a counter written by `incr`), or None."""
        raw = await self._call(lambda: self.client.get(key))
        return None if raw is None else int(raw)

    async def run_script(self, script: str, *, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run a Lua script atomically; None if Redis is down.

        Sent by its SHA1 (EVALSHA), loaded on first use and again after a Redis restart
        (NOSCRIPT), so a hot path does not ship the script's text on every call.
        """
        registered = self._scripts.get(script)
        if registered is None:
            registered = self._scripts[script] = self.client.register_script(script)
        return await self._call(lambda: registered(keys=keys, args=args))

    async def ping(self) -> bool:
        """Whether Redis answers right now (bypasses the skip window)."""
        try:
            return bool(await self.client.ping())
        except (TimeoutError, RedisError, OSError):
            return False

    async def close(self) -> None:
        await self.client.aclose()
