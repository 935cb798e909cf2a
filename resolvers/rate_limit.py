"""Rate limiting by cost: a token bucket per caller, charged with each request's query cost.

The bucket lives in Redis and is updated by one Lua script (refill, check, take: atomic), so
every API process shares it. A bucket holds at most `burst` and refills at `per_second`; staff
get `staff_factor` times both. A request the bucket cannot pay is refused whole and takes
nothing; its caller learns how long until it could be paid.

When Redis cannot be reached the limit still holds, per process: each process keeps its own
buckets (bounded in number) until Redis answers again, trying it again every few seconds
rather than on every request. The switch is logged once each way.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from db.lru import LRU

logger = logging.getLogger("catalog.rate_limit")

# KEYS[1]: the bucket. ARGV: capacity, refill per second, cost. Returns {1, 0} when paid, else
# {0, milliseconds until it could be}. Time is the server's, the same for every process.
TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
if tokens < cost then
  return {0, math.ceil((cost - tokens) / rate * 1000)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - cost), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {1, 0}
"""
TAKE_SHA = hashlib.sha1(TAKE.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)
REDIS_RETRY_SECONDS = 5.0
LOCAL_BUCKETS = 100_000


@dataclass(frozen=True)
class RateBudget:
    burst: float
    per_second: float
    staff_factor: float = 1.0

    def for_caller(self, staff: bool) -> tuple[float, float]:
        """(capacity, refill per second) of a caller's bucket."""
        factor = self.staff_factor if staff else 1.0
        return self.burst * factor, self.per_second * factor


class _LocalBuckets:
    """The same buckets in this process's memory, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.buckets: LRU[str, tuple[float, float]] = LRU(size)

    def take(self, key: str, capacity: float, rate: float, cost: float) -> float | None:
        now = time.monotonic()
        tokens, at = self.buckets.pop(key) or (capacity, now)
        tokens = min(capacity, tokens + max(0.0, now - at) * rate)
        wait = None if tokens >= cost else (cost - tokens) / rate
        self.buckets.put(key, (tokens if wait is not None else tokens - cost, now))
        return wait


class RateLimiter:
    """Charges callers' buckets (see the module); one per process, shared by its schemas."""

    def __init__(self, budget: RateBudget, *, local_buckets: int = LOCAL_BUCKETS) -> None:
        self.budget = budget
        self.local = _LocalBuckets(local_buckets)
        self.redis_retry_at = 0.0  # monotonic time before which Redis is not tried
        self.redis_down = False

    async def charge(self, redis: Redis, caller: str, cost: int, *, staff: bool) -> float | None:
        """Take `cost` from `caller`'s bucket: None when paid, else the seconds to wait."""
        capacity, rate = self.budget.for_caller(staff)
        # A cost over the whole bucket waits for a full bucket rather than forever.
        cost = min(cost, math.floor(capacity))
        key = f"ratelimit:{caller}"
        if time.monotonic() >= self.redis_retry_at:
            try:
                paid, wait_ms = await self._take(redis, key, capacity, rate, cost)
            except (RedisError, OSError, TimeoutError) as error:
                self.redis_retry_at = time.monotonic() + REDIS_RETRY_SECONDS
                if not self.redis_down:
                    self.redis_down = True
                    logger.warning("rate limit: Redis unreachable (%r); per process now", error)
            else:
                if self.redis_down:
                    self.redis_down = False
                    logger.warning("rate limit: Redis reachable again; limits shared again")
                return None if paid else int(wait_ms) / 1000
        return self.local.take(key, capacity, rate, cost)

    @staticmethod
    async def _take(
        redis: Redis, key: str, capacity: float, rate: float, cost: int
    ) -> tuple[int, int]:
        args = (key, repr(capacity), repr(rate), str(cost))
        try:
            reply = await redis.evalsha(TAKE_SHA, 1, *args)  # type: ignore[misc]
        except NoScriptError:
            reply = await redis.eval(TAKE, 1, *args)  # type: ignore[misc]
        paid, wait_ms = reply
        return int(paid), int(wait_ms)
