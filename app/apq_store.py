"""The store of automatic persisted queries: query text by its SHA-256, in Redis.

Shared by every API process, and bounded: each entry lives APQ_TTL_SECONDS after its last use,
and a sorted set indexes entries by last use so that storing one past APQ_MAX_ENTRIES evicts
the least recently used (one Lua script each way, so concurrent processes never leave the index
and the entries disagreeing for long). The store is a cache: when Redis is unreachable a lookup
finds nothing (the client then sends the full query) and storing is skipped, never failing a
request.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("catalog.apq")

PREFIX = "apq:"
INDEX = "apq:index"  # sorted set: hash → time of last use

# KEYS[1]: the index. ARGV: key prefix, hash, now, ttl. Returns the query or nil; a hit counts
# as a use (its expiry and rank are renewed), so queries in use stay while unused ones go.
_FETCH = """
local key = ARGV[1] .. ARGV[2]
local query = redis.call('GET', key)
if query then
  redis.call('EXPIRE', key, tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[2])
end
return query
"""

# KEYS[1]: the index. ARGV: key prefix, hash, query, now, ttl, max entries. Stores the query,
# forgets index entries whose key has expired, then evicts the least recently used past the
# bound. Returns how many entries were evicted.
_STORE = """
local prefix, hash, now, ttl = ARGV[1], ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('SET', prefix .. hash, ARGV[3], 'EX', ttl)
redis.call('ZADD', KEYS[1], now, hash)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[6])
if excess <= 0 then
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
for _, old in ipairs(oldest) do
  redis.call('DEL', prefix .. old)
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
return excess
"""

# Lookups and stores that Redis refuses or times out on are skipped (see the module docstring);
# so is a query Redis cannot take (a lone surrogate in a string literal).
_UNAVAILABLE = (RedisError, OSError, TimeoutError, UnicodeError)
# While Redis is down every request would say so: one warning per process this often at most.
WARNING_INTERVAL_SECONDS = 60.0


class AutomaticPersistedQueries:
    def __init__(self, redis: Redis, *, ttl_seconds: int, max_entries: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._fetch = redis.register_script(_FETCH)
        self._store = redis.register_script(_STORE)
        self._warned_at = -WARNING_INTERVAL_SECONDS

    def _warn(self, what: str, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARNING_INTERVAL_SECONDS:
            self._warned_at = now
            logger.warning("%s (Redis unavailable? %r); clients send full queries", what, error)

    async def get(self, sha256: str) -> str | None:
        """The query stored under `sha256` (lower-case hex), or None (also when Redis is down)."""
        try:
            found = await self._fetch(
                keys=[INDEX], args=[PREFIX, sha256, time.time(), self.ttl_seconds]
            )
        except _UNAVAILABLE as error:
            self._warn("persisted query lookups are failing", error)
            return None
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    async def put(self, sha256: str, query: str) -> None:
        """Keep `query` under `sha256`, evicting the least recently used past the bound."""
        try:
            await self._store(
                keys=[INDEX],
                args=[PREFIX, sha256, query, time.time(), self.ttl_seconds, self.max_entries],
            )
        except _UNAVAILABLE as error:
            self._warn("persisted queries are not being stored", error)
