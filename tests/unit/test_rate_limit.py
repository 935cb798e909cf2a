"""The cost bucket (resolvers.rate_limit) on the real Redis, and its per-process fallback."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from resolvers.rate_limit import RateBudget, RateLimiter

BUDGET = RateBudget(burst=100, per_second=50, staff_factor=3)


async def test_takes_until_empty_then_says_how_long_to_wait(redis: Redis) -> None:
    await redis.flushdb()
    limiter = RateLimiter(BUDGET)

    assert await limiter.charge(redis, "user:1", 60, staff=False) is None
    assert await limiter.charge(redis, "user:1", 40, staff=False) is None
    wait = await limiter.charge(redis, "user:1", 30, staff=False)

    assert wait is not None and 0.55 <= wait <= 0.6  # 30 tokens at 50 a second
    assert await limiter.charge(redis, "user:2", 100, staff=False) is None  # another bucket
    ttl = await redis.ttl("ratelimit:user:1")
    assert 0 < ttl <= 3  # gone once it would be full again anyway


async def test_a_refused_charge_takes_nothing(redis: Redis) -> None:
    await redis.flushdb()
    limiter = RateLimiter(RateBudget(burst=10, per_second=0.001))

    assert await limiter.charge(redis, "a", 8, staff=False) is None
    assert await limiter.charge(redis, "a", 5, staff=False) is not None
    assert await limiter.charge(redis, "a", 2, staff=False) is None


async def test_staff_buckets_are_larger(redis: Redis) -> None:
    await redis.flushdb()
    limiter = RateLimiter(BUDGET)

    assert await limiter.charge(redis, "user:9", 300, staff=True) is None
    assert await limiter.charge(redis, "user:9", 1, staff=True) is not None


async def test_a_cost_over_the_whole_bucket_waits_for_a_full_one(redis: Redis) -> None:
    await redis.flushdb()
    limiter = RateLimiter(RateBudget(burst=10, per_second=0.001))

    assert await limiter.charge(redis, "big", 50, staff=False) is None
    wait = await limiter.charge(redis, "big", 50, staff=False)

    assert wait is not None and wait > 9_000  # a full bucket again, at 0.001 a second


async def test_concurrent_charges_are_atomic(redis: Redis) -> None:
    await redis.flushdb()
    limiter = RateLimiter(RateBudget(burst=25, per_second=0.001))

    waits = await asyncio.gather(*(limiter.charge(redis, "c", 1, staff=False) for _ in range(60)))

    assert sum(wait is None for wait in waits) == 25


async def test_falls_back_to_a_bucket_of_this_process() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    limiter = RateLimiter(RateBudget(burst=3, per_second=0.001), local_buckets=2)

    waits = [await limiter.charge(unreachable, "x", 1, staff=False) for _ in range(4)]
    # The fallback's buckets are bounded: the least recently used goes first.
    for caller in ("y", "z", "w"):
        await limiter.charge(unreachable, caller, 1, staff=False)
    after_eviction = await limiter.charge(unreachable, "x", 3, staff=False)
    await unreachable.aclose()

    assert waits[:3] == [None, None, None] and waits[3] is not None
    assert limiter.redis_down
    assert after_eviction is None  # "x" was forgotten: a full bucket again
    assert len(limiter.local.buckets) == 2
