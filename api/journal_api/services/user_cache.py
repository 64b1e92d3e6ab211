"""Read-through caching of a user's entry lists and insights, with precise invalidation.

Each user has a generation counter in Redis. Every cached body's key embeds the
generation it was computed under, and every write to the user's entries or topics
bumps the counter after its transaction commits, so the next read looks under a new
key and misses: no pattern deletes, no stale reads, and other users are untouched.
Old bodies simply expire (their TTL is far shorter than the counter's).

A counter that is missing (never written, expired or evicted) is re-created with a
random value rather than restarting at 0 or 1, so a body cached under an earlier life
of the counter can never be mistaken for a current one.

A body is keyed by the raw path and query string of the request that produced it (the
body is a function of those, the user's data and the `variant` below), so the request
middleware can read it in its admission round trip before routing (`clients/gate.py`):
a cache hit costs one Redis round trip in all. A body that also depends on something
outside the request (insights: the user's time zone and local date) is stored with that
`variant` in front and only served when it matches.

Redis down: `lookup` answers "miss, don't store" and `invalidate` is a no-op, so the
API serves straight from PostgreSQL. Called by the entry, search, topic and insight
routes.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module
from journal_api.clients import gate

logger = logging.getLogger(__name__)

# KEYS[1] generation counter, KEYS[2] body key prefix; ARGV[1] a fresh random
# generation, ARGV[2] the counter's TTL. Returns {generation, body-or-nothing}.
# Only used when the middleware's prefetch is missing (a request it did not admit
# through Redis); it reads the same keys.
_LOOKUP_SCRIPT = """
local generation = redis.call('GET', KEYS[1])
if not generation then
  generation = ARGV[1]
  redis.call('SET', KEYS[1], generation, 'EX', ARGV[2])
end
return {generation, redis.call('GET', KEYS[2] .. generation)}
"""

# KEYS[1] body key, KEYS[2] generation counter; ARGV[1] body, ARGV[2] TTL, ARGV[3] the
# generation the body was computed under. Stored only while that generation is current:
# a body computed before a write (or an account deletion's purge) is not stored after it.
_STORE_SCRIPT = """
if redis.call('GET', KEYS[2]) == ARGV[3] then
  return redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
"""

_BUMP_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


@dataclasses.dataclass(frozen=True)
class Lookup:
    """The outcome of `lookup`: a cached JSON body, or where to store a fresh one."""

    body: bytes | None
    store_key: str | None  # None while Redis is unreachable: compute, but do not store
    variant: bytes = b""
    generation_key: str = ""
    generation: str = ""


def _served(stored: bytes | None, variant: bytes) -> bytes | None:
    if stored is None:
        return None
    head, _, body = stored.partition(b"\n")
    return body if head == variant else None


async def lookup(
    cache: cache_module.Cache,
    metrics: metrics_module.Metrics,
    *,
    user_id: uuid.UUID,
    resource: str,
    prefetch: gate.Prefetch | None,
    variant: str = "",
) -> Lookup:
    """Find the cached body of ``resource`` under the current generation of ``user_id``:
    from the middleware's ``prefetch`` when there is one, else in one round trip.

    Args:
        cache: the shared Redis client.
        metrics: hits and misses are counted here.
        user_id: whose data.
        resource: the request's raw path and query string.
        prefetch: what the admission round trip read for this user, if anything.
        variant: what else the body depends on (one line, e.g. zone and local day).
    """
    wanted = variant.encode()
    if prefetch is not None and prefetch.user_id == user_id:
        prefix, generation, stored = prefetch.body_prefix, prefetch.generation, prefetch.body
    else:
        prefix = gate.body_prefix(user_id, resource)
        reply = await cache.run_script(
            _LOOKUP_SCRIPT,
            keys=[gate.generation_key(user_id), prefix],
            args=[gate.fresh_generation(), gate.GENERATION_TTL_SECONDS],
        )
        if not reply:
            return Lookup(body=None, store_key=None)
        generation = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        stored = bytes(reply[1]) if len(reply) > 1 and reply[1] is not None else None
    body = _served(stored, wanted)
    if body is None:
        metrics.cache_misses.inc()
        return Lookup(
            body=None,
            store_key=prefix + generation,
            variant=wanted,
            generation_key=gate.generation_key(user_id),
            generation=generation,
        )
    metrics.cache_hits.inc()
    return Lookup(body=body, store_key=None)


async def store(cache: cache_module.Cache, lookup_result: Lookup, *, body: bytes, ttl: int) -> None:
    """Cache ``body`` where ``lookup_result`` said to (nothing when Redis was down)."""
    if lookup_result.store_key is not None:
        stored = lookup_result.variant + b"\n" + body
        await cache.run_script(
            _STORE_SCRIPT,
            keys=[lookup_result.store_key, lookup_result.generation_key],
            args=[stored, ttl, lookup_result.generation],
        )


async def purge(cache: cache_module.Cache, *, user_id: uuid.UUID) -> None:
    """Delete everything cached for ``user_id`` (a deleted account): every list, entry,
    search result and insight body, and the generation. Call after commit."""
    if await cache.purge_user(user_id) is None:
        # Nothing can read them (the account is gone); they expire within the cache TTL.
        logger.warning("could not purge a deleted user's cache", extra={"user_id": str(user_id)})


async def invalidate(cache: cache_module.Cache, *, user_id: uuid.UUID) -> None:
    """Make every cached list and insight of ``user_id`` stale. Call after commit."""
    await cache.run_script(
        _BUMP_SCRIPT,
        keys=[gate.generation_key(user_id)],
        args=[gate.fresh_generation(), gate.GENERATION_TTL_SECONDS],
    )
