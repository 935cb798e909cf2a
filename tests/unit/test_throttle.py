"""The sign-in throttle: counts within a window, and never locks anyone out when Redis is down."""

from __future__ import annotations

from redis.asyncio import Redis

from resolvers.users.throttle import Throttle


async def test_counts_to_the_limit_and_resets(redis: Redis) -> None:
    await redis.flushdb()
    throttle = Throttle(redis, "test", limit=3, window_seconds=60)
    for _ in range(2):
        await throttle.hit("k")
    assert not await throttle.exceeded("k")
    await throttle.hit("k")
    assert await throttle.exceeded("k")
    assert not await throttle.exceeded("another")
    assert 0 < await redis.ttl("throttle:test:k") <= 60
    await throttle.reset("k")
    assert not await throttle.exceeded("k")


async def test_fails_open_when_redis_is_unreachable() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    throttle = Throttle(unreachable, "test", limit=1, window_seconds=60)
    await throttle.hit("k")  # logged, not raised
    assert not await throttle.exceeded("k")
    await throttle.reset("k")
    await unreachable.aclose()
