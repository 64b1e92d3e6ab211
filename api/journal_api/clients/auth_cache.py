"""Per-user cache of the authentication state (`schemas.user.AuthUser`) in Redis.

Why: every authenticated request must know that the user still exists and which tokens
are revoked (`tokens_valid_after`). Reading that from PostgreSQL costs a pooled
connection, a pre-ping and a query per request; from Redis it is one round trip.

Why it stays correct: a write that changes the state (logout-all, password change,
profile update, account deletion) calls `invalidate` AFTER its commit, which bumps the
user's generation and deletes the cached state. A request that missed reads the
generation first (in the same round trip as the miss), then PostgreSQL, and `fill`
stores its result only if the generation is unchanged, so a reader that raced an
invalidation can never write back the state from before it. Generations start at a
random value, so one evicted and re-created can never match a stale reader's.

Redis down: `read` answers a miss without a generation and nothing is filled, so every
request goes to PostgreSQL. An invalidation Redis never received leaves the old state
for at most `auth_cache_ttl_seconds`. Called by `deps.get_current_user` and the routes
that change the state; `clients/gate.py` reads the same keys in its admission script.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import uuid

from journal_api.clients import cache as cache_module

logger = logging.getLogger(__name__)
GENERATION_TTL_SECONDS = 24 * 3600
_RANDOM_GENERATION_BITS = 52

# KEYS: state, generation; ARGV: a fresh generation, its TTL. Returns {1, state} on a
# hit, {0, generation} on a miss (creating the generation when missing).
_READ_SCRIPT = """
local state = redis.call('GET', KEYS[1])
if state then return {1, state} end
local generation = redis.call('GET', KEYS[2])
if not generation then
  generation = ARGV[1]
  redis.call('SET', KEYS[2], generation, 'EX', ARGV[2])
end
return {0, generation}
"""

# KEYS: state, generation; ARGV: the generation read before the database, state, TTL.
_FILL_SCRIPT = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""

# KEYS: state, generation; ARGV: a fresh generation, its TTL.
_INVALIDATE_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('INCR', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[1])
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return redis.call('DEL', KEYS[1])
"""


@dataclasses.dataclass(frozen=True)
class Read:
    """A cached state (JSON), or on a miss the generation to `fill` under (None: don't)."""

    state: bytes | None
    generation: str | None


def keys(user_id: uuid.UUID) -> list[str]:
    """The state and generation keys of ``user_id`` (also read by `clients/gate.py`)."""
    return [cache_module.user_key(user_id, "auth"), cache_module.user_key(user_id, "auth-gen")]


def _fresh_generation() -> int:
    return secrets.randbits(_RANDOM_GENERATION_BITS)


async def read(cache: cache_module.Cache, *, user_id: uuid.UUID) -> Read:
    """The cached auth state of ``user_id``, in one round trip."""
    reply = await cache.run_script(
        _READ_SCRIPT, keys=keys(user_id), args=[_fresh_generation(), GENERATION_TTL_SECONDS]
    )
    if not reply:
        return Read(state=None, generation=None)
    hit, value = int(reply[0]), bytes(reply[1])
    return Read(state=value, generation=None) if hit else Read(None, value.decode())


async def fill(
    cache: cache_module.Cache, *, user_id: uuid.UUID, generation: str, state: bytes, ttl: int
) -> None:
    """Cache ``state`` unless the user's state was invalidated since ``generation``."""
    await cache.run_script(_FILL_SCRIPT, keys=keys(user_id), args=[generation, state, ttl])


async def invalidate(cache: cache_module.Cache, *, user_id: uuid.UUID) -> None:
    """Forget the cached state of ``user_id``. Call after the change has committed."""
    deleted = await cache.run_script(
        _INVALIDATE_SCRIPT,
        keys=keys(user_id),
        args=[_fresh_generation(), GENERATION_TTL_SECONDS],
    )
    if deleted is None:
        logger.error(
            "auth state invalidation did not reach Redis; a cached copy may outlive it",
            extra={"user_id": str(user_id)},
        )
