"""The auth throttles' rules, in both stores (Redis, and memory while Redis is away), and the
switch between them."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis

from resolvers.users.throttle import Throttle, ThrottleLimits, account_key, address_key
from resolvers.users.throttle_local import LocalCounters
from resolvers.users.throttle_redis import RedisCounters
from resolvers.users.throttle_rules import Counters, Decision, SignInKeys, SignInLimits

LIMITS = SignInLimits(per_account=3, per_address=5, window_seconds=60)


def keys(account: str, address: str) -> SignInKeys:
    return SignInKeys(
        pair=f"t:pair:{account}:{address}",
        account=f"t:account:{account}",
        address=f"t:address:{address}",
        known=f"t:known:{account}",
        address_member=address,
    )


@pytest.fixture(params=["redis", "memory"])
async def counters(request: pytest.FixtureRequest, redis: Redis) -> Counters:
    await redis.flushdb()
    return RedisCounters(redis) if request.param == "redis" else LocalCounters()


async def fail(counters: Counters, account: str, address: str, times: int) -> list[bool]:
    return [
        (await counters.admit_sign_in(keys(account, address), LIMITS)).allowed for _ in range(times)
    ]


async def test_admit_counts_to_the_limit_and_refunds(counters: Counters) -> None:
    assert [(await counters.admit("k", 2, 60)).allowed for _ in range(3)] == [True, True, False]
    refused = await counters.admit("k", 2, 60)
    assert not refused.allowed and 59 <= refused.retry_after <= 60
    await counters.refund("k")
    assert (await counters.admit("k", 2, 60)).allowed
    assert not (await counters.admit("k", 2, 60)).allowed
    assert (await counters.admit("other", 2, 60)).allowed


async def test_a_pair_is_refused_at_the_account_limit(counters: Counters) -> None:
    assert await fail(counters, "ann", "1.1.1.1", 4) == [True, True, True, False]
    # A new address is refused too: the account is at its limit.
    assert await fail(counters, "ann", "2.2.2.2", 1) == [False]
    # Another account from the same address is not.
    assert await fail(counters, "bob", "1.1.1.1", 1) == [True]


async def test_a_known_address_is_not_locked_out_by_failures_from_elsewhere(
    counters: Counters,
) -> None:
    await counters.admit_sign_in(keys("ann", "10.0.0.1"), LIMITS)
    await counters.signed_in(keys("ann", "10.0.0.1"))  # the owner, at home
    # An attacker exhausts the account from elsewhere.
    await fail(counters, "ann", "6.6.6.6", 3)
    assert await fail(counters, "ann", "7.7.7.7", 1) == [False]
    # Home is still admitted, up to its own pair's limit.
    assert await fail(counters, "ann", "10.0.0.1", 4) == [True, True, True, False]


async def test_a_noisy_address_does_not_shut_out_those_who_signed_in_from_it(
    counters: Counters,
) -> None:
    office = "192.0.2.10"
    await counters.admit_sign_in(keys("carol", office), LIMITS)
    await counters.signed_in(keys("carol", office))
    # Someone in the office fails on many accounts: the address reaches its limit (5).
    for victim in ("v1", "v2", "v3", "v4", "v5"):
        await fail(counters, victim, office, 1)
    assert await fail(counters, "dave", office, 1) == [False]  # new to this address
    assert await fail(counters, "carol", office, 1) == [True]  # known here


async def test_success_refunds_itself_and_clears_the_pair_but_not_the_account(
    counters: Counters,
) -> None:
    home = keys("ann", "10.0.0.1")
    await counters.admit_sign_in(home, LIMITS)
    await counters.signed_in(home)
    await fail(counters, "ann", "6.6.6.6", 2)  # an attacker: the account counts 2
    await fail(counters, "ann", "10.0.0.1", 1)  # the owner's typo: 3
    assert (await counters.admit_sign_in(home, LIMITS)).allowed  # 4, then refunded: 3
    await counters.signed_in(home)
    # Had the success reset the account's count, the attacker would have three fresh tries.
    assert await fail(counters, "ann", "6.6.6.6", 1) == [False]
    # The owner's pair was cleared: three more tries.
    assert await fail(counters, "ann", "10.0.0.1", 4) == [True, True, True, False]


async def test_redis_decisions_are_atomic_under_concurrency(redis: Redis) -> None:
    await redis.flushdb()
    store = RedisCounters(redis)
    decisions = await asyncio.gather(
        *(store.admit_sign_in(keys("ann", "6.6.6.6"), LIMITS) for _ in range(100))
    )
    assert sum(d.allowed for d in decisions) == LIMITS.per_account
    assert int(await redis.get("t:account:ann") or 0) == LIMITS.per_account


async def test_memory_counts_expire_and_stay_bounded() -> None:
    now = [1000.0]
    store = LocalCounters(max_entries=10, clock=lambda: now[0])
    assert await fail(store, "ann", "1.1.1.1", 4) == [True, True, True, False]
    refused = await store.admit_sign_in(keys("ann", "1.1.1.1"), LIMITS)
    assert refused == Decision(False, 60.0)
    now[0] += 61
    assert (await store.admit_sign_in(keys("ann", "1.1.1.1"), LIMITS)).allowed
    for n in range(100):
        await store.admit(f"k{n}", 1, 60)
    assert len(store) == 10


async def test_throttle_falls_back_to_memory_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    throttle = Throttle(unreachable, ThrottleLimits(2, 50, 60, 20))
    with caplog.at_level(logging.WARNING, logger="catalog.throttle"):
        answers = [(await throttle.admit_sign_in("a@example.com", "1.2.3.4")) for _ in range(5)]
    assert [d.allowed for d in answers] == [True, True, False, False, False]
    assert answers[-1].retry_after > 0
    warnings = [r for r in caplog.records if r.name == "catalog.throttle"]
    assert len(warnings) == 1 and "Redis unreachable" in warnings[0].getMessage()
    await unreachable.aclose()


def test_keys_name_no_email_and_group_ipv6_by_network() -> None:
    assert account_key("Ann@Example.com ") == account_key("ann@example.com")
    assert "@" not in account_key("ann@example.com")
    assert account_key("\ud800@example.com")  # a lone surrogate does not break the key
    assert address_key("2001:db8:1:2:3:4:5:6") == address_key("2001:db8:1:2:ffff::1")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key(None) == "unknown"
    assert address_key("not an ip\ud800").startswith("other-")
