"""Per-IP and per-user request limits in Redis, shared by every API replica.

The limiter is a sliding log: each request is a member of a sorted set scored by the
Redis server's clock (one clock for all replicas), and a request is admitted while
fewer than `limit` requests happened in the last `window` seconds. One Lua script does
the check and the insert atomically. Rejected requests get a 429 problem with
`Retry-After` (seconds until the oldest counted request leaves the window).

When Redis is unreachable the API FAILS OPEN to a per-process in-memory limiter with the
same limits: each replica then enforces the limits on its own, so the effective limit
is multiplied by the number of replicas until Redis returns, and the API keeps serving.
The Redis limiter takes over again on its own as soon as Redis answers.
"""

from __future__ import annotations

import collections
import math
import time
import uuid
from dataclasses import dataclass

from journal_api.clients import cache as cache_module

_SLIDING_LOG = """
local key = KEYS[1]
local window_ms = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_ms)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window_ms)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window_ms - now)
"""
# Keys kept by the in-memory fallback before the oldest are forgotten.
_MAX_LOCAL_KEYS = 10_000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0


class _LocalLimiter:
    """The same sliding log, in process memory (the fallback while Redis is down)."""

    def __init__(self) -> None:
        self._logs: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )

    def hit(self, key: str, *, limit: int, window: float) -> Decision:
        now = time.monotonic()
        log = self._logs.pop(key, None) or collections.deque()
        self._logs[key] = log
        while log and log[0] <= now - window:
            log.popleft()
        if len(self._logs) > _MAX_LOCAL_KEYS:
            self._logs.popitem(last=False)
        if len(log) < limit:
            log.append(now)
            return Decision(allowed=True)
        return Decision(allowed=False, retry_after=max(1, math.ceil(log[0] + window - now)))


class RateLimiter:
    """Admits or rejects one request for a key (``ip:<addr>`` or ``user:<id>``).

    Args:
        cache: the shared Redis client.
        window_seconds: the sliding window length.
    """

    def __init__(self, cache: cache_module.Cache, *, window_seconds: int) -> None:
        self._cache = cache
        self._window = window_seconds
        self._local = _LocalLimiter()

    async def hit(self, key: str, *, limit: int) -> Decision:
        result = await self._cache.run_script(
            _SLIDING_LOG,
            keys=[cache_module.global_key("rl", key)],
            args=[self._window * 1000, limit, uuid.uuid4().hex],
        )
        if result is None:
            return self._local.hit(key, limit=limit, window=self._window)
        retry_ms = int(result)
        if retry_ms == 0:
            return Decision(allowed=True)
        return Decision(allowed=False, retry_after=max(1, math.ceil(retry_ms / 1000)))
