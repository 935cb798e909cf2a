"""The auth throttles' counts in Redis: one Lua script per decision, so each is atomic and
shared by every API process (rules in `throttle_rules`). Works on Redis 6 and later."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from resolvers.users.throttle_rules import (
    ALLOWED,
    KNOWN_ADDRESS_SECONDS,
    KNOWN_ADDRESSES_PER_ACCOUNT,
    Decision,
    SignInKeys,
    SignInLimits,
)

# KEYS[1] the counter. ARGV: limit, window seconds. Returns {admitted, milliseconds to wait}.
ADMIT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  return {0, math.max(redis.call('PTTL', KEYS[1]), 0)}
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, 0}
"""

# KEYS[1] the counter.
REFUND = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 1
"""

# KEYS: pair, account, address counters; the account's known addresses (a sorted set scored by
# the time of the latest sign-in). ARGV: address, account limit, address limit, window seconds,
# now, seconds an address stays known. Returns {admitted, milliseconds to wait}.
ADMIT_SIGN_IN = """
local function over(key, limit)
  return tonumber(redis.call('GET', key) or '0') >= limit
end
local function refused(key)
  return {0, math.max(redis.call('PTTL', key), 0)}
end
local account_limit = tonumber(ARGV[2])
if over(KEYS[1], account_limit) then return refused(KEYS[1]) end
local seen = redis.call('ZSCORE', KEYS[4], ARGV[1])
if not (seen and tonumber(seen) > tonumber(ARGV[5]) - tonumber(ARGV[6])) then
  if over(KEYS[2], account_limit) then return refused(KEYS[2]) end
  if over(KEYS[3], tonumber(ARGV[3])) then return refused(KEYS[3]) end
end
for i = 1, 3 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[4])
end
return {1, 0}
"""

# KEYS as ADMIT_SIGN_IN. ARGV: address, now, seconds an address stays known, most kept.
SIGNED_IN = """
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
local now = tonumber(ARGV[2])
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[4]) + 1))
redis.call('EXPIRE', KEYS[4], ARGV[3])
return 1
"""


def _decision(reply: Any) -> Decision:
    admitted, wait_ms = reply
    return ALLOWED if int(admitted) else Decision(False, int(wait_ms) / 1000)


class RedisCounters:
    """`throttle_rules.Counters` in Redis. Raises what redis-py raises when Redis is away."""

    def __init__(self, redis: Redis) -> None:
        # register_script: EVALSHA, loading the script again if the server lost it.
        self._admit = redis.register_script(ADMIT)
        self._refund = redis.register_script(REFUND)
        self._admit_sign_in = redis.register_script(ADMIT_SIGN_IN)
        self._signed_in = redis.register_script(SIGNED_IN)

    async def admit(self, key: str, limit: int, window_seconds: int) -> Decision:
        return _decision(await self._admit(keys=[key], args=[limit, window_seconds]))

    async def refund(self, key: str) -> None:
        await self._refund(keys=[key])

    async def admit_sign_in(self, keys: SignInKeys, limits: SignInLimits) -> Decision:
        reply = await self._admit_sign_in(
            keys=[keys.pair, keys.account, keys.address, keys.known],
            args=[
                keys.address_member,
                limits.per_account,
                limits.per_address,
                limits.window_seconds,
                int(time.time()),
                KNOWN_ADDRESS_SECONDS,
            ],
        )
        return _decision(reply)

    async def signed_in(self, keys: SignInKeys) -> None:
        await self._signed_in(
            keys=[keys.pair, keys.account, keys.address, keys.known],
            args=[
                keys.address_member,
                int(time.time()),
                KNOWN_ADDRESS_SECONDS,
                KNOWN_ADDRESSES_PER_ACCOUNT,
            ],
        )
