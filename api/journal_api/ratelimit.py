"""Per-IP and per-user request limits in Redis, shared by every API replica.

The limiter is a sliding log: each request is a member of a sorted set scored by the
Redis server's clock (one clock for all replicas), and a request is admitted while
fewer than `limit` requests happened in the last `window` seconds. One Lua script checks
and records every limit that applies (per IP, then per user) atomically, in one round
trip; it is `clients/gate.py`'s admission script, which in the same trip prefetches the
authenticated user's auth state and cache. Rejected requests get a 429 problem with
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
from journal_api.clients import gate

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

    async def hit(
        self,
        checks: Sequence[tuple[str, int]],
        *,
        user_id: uuid.UUID | None = None,
        resource: str = "",
        read_body: bool = False,
    ) -> tuple[int, Decision, gate.Prefetch | None]:
        """Admit one request against every ``(key, limit)`` in ``checks`` at once.

        One Redis round trip however many limits apply (the per-IP and per-user limits
        of an authenticated request), which also prefetches ``user_id``'s auth state and
        cached body of ``resource`` (see `clients/gate.py`).

        Returns:
            The index in ``checks`` of the limit that rejected the request (0 when it
            was admitted), the decision, and the prefetch (None when rejected, anonymous
            or while Redis is down).
        """
        admission = await gate.admit(
            self._cache,
            limits=[(cache_module.global_key("rl", key), limit) for key, limit in checks],
            window_seconds=self._window,
            member=uuid.uuid4().hex,
            user_id=user_id,
            resource=resource,
            read_body=read_body,
        )
        if admission is None:
            return (*self._local_hit(checks), None)
        if admission.rejected_by is None:
            return 0, Decision(allowed=True), admission.prefetch
        retry_after = max(1, math.ceil(admission.retry_ms / 1000))
        return admission.rejected_by, Decision(allowed=False, retry_after=retry_after), None

    def _local_hit(self, checks: Sequence[tuple[str, int]]) -> tuple[int, Decision]:
        for index, (key, limit) in enumerate(checks):
            decision = self._local.hit(key, limit=limit, window=self._window)
            if not decision.allowed:
                return index, decision
        return 0, Decision(allowed=True)
