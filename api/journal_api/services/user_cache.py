"""Read-through caching of a user's entry lists and insights, with precise invalidation.

Each user has a generation counter in Redis. Every cached body's key embeds the
generation it was computed under, and every write to the user's entries or topics
bumps the counter after its transaction commits, so the next read looks under a new
key and misses: no pattern deletes, no stale reads, and other users are untouched.
Old bodies simply expire (their TTL is far shorter than the counter's).

A counter that is missing (never written, expired or evicted) is re-created with a
random value rather than restarting at 0 or 1, so a body cached under an earlier life
of the counter can never be mistaken for a current one.

Redis down: `lookup` answers "miss, don't store" and `invalidate` is a no-op, so the
API serves straight from PostgreSQL. Called by the entry, topic and insight routes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import uuid

from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module

GENERATION_TTL_SECONDS = 7 * 24 * 3600
_RANDOM_GENERATION_BITS = 52

# KEYS[1] generation counter, KEYS[2] body key prefix; ARGV[1] a fresh random
# generation, ARGV[2] the counter's TTL. Returns {generation, body-or-nothing}.
_LOOKUP_SCRIPT = """
local generation = redis.call('GET', KEYS[1])
if not generation then
  generation = ARGV[1]
  redis.call('SET', KEYS[1], generation, 'EX', ARGV[2])
end
return {generation, redis.call('GET', KEYS[2] .. generation)}
"""

_STORE_SCRIPT = "return redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])"

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


def generation_key(user_id: uuid.UUID) -> str:
    return cache_module.user_key(user_id, "generation")


def _body_prefix(user_id: uuid.UUID, kind: str, params: str) -> str:
    # Hashed so arbitrary filter values never end up raw in a key.
    digest = hashlib.sha256(params.encode()).hexdigest()[:32]
    return cache_module.user_key(user_id, kind, digest, "g")


def _fresh_generation() -> int:
    return secrets.randbits(_RANDOM_GENERATION_BITS)


async def lookup(
    cache: cache_module.Cache,
    metrics: metrics_module.Metrics,
    *,
    user_id: uuid.UUID,
    kind: str,
    params: str,
) -> Lookup:
    """Find the cached body of ``kind`` (e.g. "entries") for ``params`` under the current
    generation of ``user_id``, in one Redis round trip.

    Args:
        cache: the shared Redis client.
        metrics: hits and misses are counted here.
        user_id: whose data.
        kind: what is cached, part of the key.
        params: everything else the body depends on (filters, page, day, zone).
    """
    prefix = _body_prefix(user_id, kind, params)
    reply = await cache.run_script(
        _LOOKUP_SCRIPT,
        keys=[generation_key(user_id), prefix],
        args=[_fresh_generation(), GENERATION_TTL_SECONDS],
    )
    if not reply:
        return Lookup(body=None, store_key=None)
    generation = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    body = reply[1] if len(reply) > 1 else None
    if body is None:
        metrics.cache_misses.inc()
        return Lookup(body=None, store_key=prefix + generation)
    metrics.cache_hits.inc()
    return Lookup(body=bytes(body), store_key=None)


async def store(cache: cache_module.Cache, lookup_result: Lookup, *, body: bytes, ttl: int) -> None:
    """Cache ``body`` where ``lookup_result`` said to (nothing when Redis was down)."""
    if lookup_result.store_key is not None:
        await cache.run_script(_STORE_SCRIPT, keys=[lookup_result.store_key], args=[body, ttl])


async def invalidate(cache: cache_module.Cache, *, user_id: uuid.UUID) -> None:
    """Make every cached list and insight of ``user_id`` stale. Call after commit."""
    await cache.run_script(
        _BUMP_SCRIPT,
        keys=[generation_key(user_id)],
        args=[_fresh_generation(), GENERATION_TTL_SECONDS],
    )
