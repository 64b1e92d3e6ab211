"""Per-IP and per-user request limits in Redis, shared by every API replica.

The limiter is a sliding log: each request is a member of a sorted set scored by the
Redis server's clock (one clock for all replicas), and a request is admitted while
fewer than `limit` requests happened in the last `window` seconds. One Lua script checks
and records every limit that applies (per IP, then per user) atomically, in one round
trip. Rejected requests get a 429 problem with
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
from collections.abc import Sequence
from dataclasses import dataclass

from journal_api.clients import cache as cache_module

# KEYS: one sliding log per limit; ARGV: window (ms), a unique member, then one limit per
# key. The limits are applied in order, exactly as separate calls would: each admitted
# one counts the request, and the first full one rejects it. Returns {0, 0} when
# admitted, else {i, ms}: the 1-based index of the rejecting limit and the milliseconds
# until it has room.
_SLIDING_LOGS = """
local window_ms = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_ms)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, math.max(1, tonumber(oldest[2]) + window_ms - now)}
  end
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window_ms)
end
return {0, 0}
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

    async def hit(self, checks: Sequence[tuple[str, int]]) -> tuple[int, Decision]:
        """Admit one request against every ``(key, limit)`` in ``checks`` at once.

        One Redis round trip however many limits apply (the per-IP and per-user limits
        of an authenticated request).

        Returns:
            The index in ``checks`` of the limit that rejected the request (0 when it
            was admitted), and the decision.
        """
        result = await self._cache.run_script(
            _SLIDING_LOGS,
            keys=[cache_module.global_key("rl", key) for key, _ in checks],
            args=[self._window * 1000, uuid.uuid4().hex, *(limit for _, limit in checks)],
        )
        if result is None:
            return self._local_hit(checks)
        index, retry_ms = int(result[0]), int(result[1])
        if index == 0:
            return 0, Decision(allowed=True)
        return index - 1, Decision(allowed=False, retry_after=max(1, math.ceil(retry_ms / 1000)))

    def _local_hit(self, checks: Sequence[tuple[str, int]]) -> tuple[int, Decision]:
        for index, (key, limit) in enumerate(checks):
            decision = self._local.hit(key, limit=limit, window=self._window)
            if not decision.allowed:
                return index, decision
        return 0, Decision(allowed=True)
