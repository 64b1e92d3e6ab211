"""The one Redis round trip an authenticated request starts with: admission and prefetch.

Why: a cached read used to pay three round trips before answering (the rate-limit
script, the auth-state read, the cache lookup), and the profile of a cached list showed
each of them costing as much CPU in redis-py as the rest of the route. `admit` runs one
Lua script that does, atomically and in this order:

1. the sliding-log rate limits (`ratelimit.py`'s script, same keys, same semantics);
   a rejected request stops here;
2. for a verified bearer token: the user's cached auth state, or on a miss the
   auth-state generation `auth_cache.fill` needs (`clients/auth_cache.py`);
3. the user's cache generation (`services/user_cache.py`), created when missing;
4. for a GET: the cached response body for this path and query under that generation.

The body key is derived from the raw path and query string, so the middleware knows it
before routing; a route that caches (`user_cache.lookup`) stores under the same key, so
equivalent-but-differently-spelt queries simply get separate entries. Nothing is served
from here: the route still runs its dependencies (token check against the auth state,
validation) and only then takes the prefetched body.

Redis down: `admit` answers None and callers fall back to their own paths (the
in-memory limiter, PostgreSQL). Called by `middleware.py`; read by `deps.py` and
`services/user_cache.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from journal_api.clients import auth_cache
from journal_api.clients import cache as cache_module

SCOPE_KEY = "journal.gate"
GENERATION_TTL_SECONDS = 7 * 24 * 3600
_RANDOM_GENERATION_BITS = 52
_MAX_KIND_CHARS = 32

# KEYS: n sliding logs, then (when ARGV[3] == '1') auth state, auth generation, cache
# generation, body key prefix. ARGV: window (ms), a unique member, whether a user
# follows, a fresh auth generation, its TTL, a fresh cache generation, its TTL, whether
# to read the body, then one limit per sliding log.
# Returns {i, ms} when the i-th limit (1-based) rejects, {0, 0} when admitted without a
# user, else {0, 0, auth hit (1/0), auth state or auth generation, cache generation,
# body or false}.
_ADMIT_SCRIPT = """
local window_ms = tonumber(ARGV[1])
local logs = #KEYS
if ARGV[3] == '1' then logs = logs - 4 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, logs do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_ms)
  if redis.call('ZCARD', key) >= tonumber(ARGV[8 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, math.max(1, tonumber(oldest[2]) + window_ms - now)}
  end
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window_ms)
end
if ARGV[3] ~= '1' then return {0, 0} end
local auth_hit, auth = 1, redis.call('GET', KEYS[logs + 1])
if not auth then
  auth_hit = 0
  auth = redis.call('GET', KEYS[logs + 2])
  if not auth then
    auth = ARGV[4]
    redis.call('SET', KEYS[logs + 2], auth, 'EX', ARGV[5])
  end
end
local generation = redis.call('GET', KEYS[logs + 3])
if not generation then
  generation = ARGV[6]
  redis.call('SET', KEYS[logs + 3], generation, 'EX', ARGV[7])
end
local body = false
if ARGV[8] == '1' then body = redis.call('GET', KEYS[logs + 4] .. generation) end
return {0, 0, auth_hit, auth, generation, body}
"""


@dataclasses.dataclass(frozen=True)
class Prefetch:
    """What the admission script read for the request's user, atomically."""

    user_id: uuid.UUID
    auth: auth_cache.Read
    generation: str  # the user's cache generation when the request was admitted
    body_prefix: str  # where this path and query's body lives, less the generation
    body: bytes | None  # the stored value under that key, if any (GET only)


@dataclasses.dataclass(frozen=True)
class Admission:
    """The rate-limit verdict and, for an authenticated request, the prefetch."""

    rejected_by: int | None  # index of the rejecting limit, None when admitted
    retry_ms: int
    prefetch: Prefetch | None


def resource(scope: Mapping[str, Any]) -> str:
    """The raw path and query string of an ASGI request: what names its cached body."""
    query: bytes = scope.get("query_string", b"")
    return f"{scope['path']}?{query.decode('latin-1')}"


def generation_key(user_id: uuid.UUID) -> str:
    return cache_module.user_key(user_id, "generation")


def body_prefix(user_id: uuid.UUID, resource: str) -> str:
    """The key (less its generation) of the cached body of ``resource`` for ``user_id``."""
    # The resource's kind (`/api/v1/<kind>/...`) stays readable in the key; the rest is
    # hashed so arbitrary query values never end up raw in a key.
    parts = resource.split("/", 4)
    kind = parts[3].partition("?")[0] if len(parts) > 3 else ""
    if not (kind.isascii() and kind.isalnum() and len(kind) <= _MAX_KIND_CHARS):
        kind = "other"
    digest = hashlib.sha256(resource.encode()).hexdigest()[:32]
    return cache_module.user_key(user_id, kind, digest, "g")


def fresh_generation() -> int:
    return secrets.randbits(_RANDOM_GENERATION_BITS)


async def admit(
    cache: cache_module.Cache,
    *,
    limits: Sequence[tuple[str, int]],
    window_seconds: int,
    member: str,
    user_id: uuid.UUID | None,
    resource: str,
    read_body: bool,
) -> Admission | None:
    """Apply ``limits`` and, for ``user_id``, prefetch its auth state and cache, in one trip.

    Args:
        cache: the shared Redis client.
        limits: ``(key, limit)`` sliding logs, applied in order (see `ratelimit.py`).
        window_seconds: the sliding window length.
        member: a unique id for this request in the logs.
        user_id: the verified token's user, or None for an anonymous request.
        resource: the raw path and query string, naming the cached body.
        read_body: whether to read that body (GET requests).

    Returns:
        The admission, or None while Redis is unreachable.
    """
    keys = [key for key, _ in limits]
    body_key = ""
    if user_id is not None:
        body_key = body_prefix(user_id, resource)
        keys += [*auth_cache.keys(user_id), generation_key(user_id), body_key]
    reply = await cache.run_script(
        _ADMIT_SCRIPT,
        keys=keys,
        args=[
            window_seconds * 1000,
            member,
            "1" if user_id is not None else "0",
            fresh_generation(),
            auth_cache.GENERATION_TTL_SECONDS,
            fresh_generation(),
            GENERATION_TTL_SECONDS,
            "1" if read_body else "0",
            *(limit for _, limit in limits),
        ],
    )
    if reply is None:
        return None
    index, retry_ms = int(reply[0]), int(reply[1])
    if index != 0:
        return Admission(rejected_by=index - 1, retry_ms=retry_ms, prefetch=None)
    if user_id is None or len(reply) < 6:
        return Admission(rejected_by=None, retry_ms=0, prefetch=None)
    auth_value = bytes(reply[3])
    auth = (
        auth_cache.Read(state=auth_value, generation=None)
        if int(reply[2])
        else auth_cache.Read(state=None, generation=auth_value.decode())
    )
    return Admission(
        rejected_by=None,
        retry_ms=0,
        prefetch=Prefetch(
            user_id=user_id,
            auth=auth,
            generation=bytes(reply[4]).decode(),
            body_prefix=body_key,
            body=bytes(reply[5]) if reply[5] else None,
        ),
    )
