"""The auth throttles: sign-in failures, registrations per address, wrong current passwords.

Each decision is one atomic step in Redis, shared by every API process (`throttle_redis`);
the rules are in `throttle_rules`. While Redis cannot be reached the same rules apply per
process, in memory (`throttle_local`), never no limit at all: the switch is logged once, and
Redis is tried again every few seconds. One `Throttle` lives per process (`Services`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from resolvers.users.throttle_local import LocalCounters
from resolvers.users.throttle_redis import RedisCounters
from resolvers.users.throttle_rules import Counters, Decision, SignInKeys, SignInLimits

logger = logging.getLogger("catalog.throttle")

T = TypeVar("T")
REDIS_ERRORS = (RedisError, OSError, TimeoutError)
# While Redis is away, how long to count in memory before trying it again.
RETRY_REDIS_AFTER = 5.0
REGISTRATION_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class ThrottleLimits:
    failures_per_account: int
    failures_per_address: int
    failure_window_seconds: int
    registrations_per_address_per_hour: int


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def account_key(email: str) -> str:
    """An account's name in the counters: a digest, so Redis holds no email addresses."""
    return _digest(email.strip().lower())


def address_key(client_ip: str | None) -> str:
    """A client address as the counters see it. IPv6 by its /64 network: one host commonly
    holds a whole /64, so counting single addresses would give it 2**64 fresh limits."""
    if not client_ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return f"other-{_digest(client_ip)}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Throttle:
    def __init__(
        self, redis: Redis, limits: ThrottleLimits, fallback: LocalCounters | None = None
    ) -> None:
        self.limits = limits
        self._shared = RedisCounters(redis)
        self._local = fallback if fallback is not None else LocalCounters()
        # Set while Redis is away: the monotonic time at which to try it again.
        self._retry_redis_at: float | None = None

    async def _apply(self, step: Callable[[Counters], Awaitable[T]]) -> T:
        """Run `step` on Redis; while it is unreachable, on this process's counts."""
        retry_at = self._retry_redis_at
        if retry_at is None or time.monotonic() >= retry_at:
            try:
                result = await step(self._shared)
            except REDIS_ERRORS as error:
                if self._retry_redis_at is None:
                    logger.warning(
                        "auth throttles: Redis unreachable (%s: %s); limiting per process "
                        "until it is back",
                        type(error).__name__,
                        error,
                    )
                self._retry_redis_at = time.monotonic() + RETRY_REDIS_AFTER
            else:
                if self._retry_redis_at is not None:
                    self._retry_redis_at = None
                    logger.info("auth throttles: Redis reachable again; limits shared again")
                return result
        return await step(self._local)

    # --- sign-in ------------------------------------------------------------------------

    def _sign_in_keys(self, email: str, client_ip: str | None) -> SignInKeys:
        account, address = account_key(email), address_key(client_ip)
        return SignInKeys(
            pair=f"throttle:sign-in:pair:{account}:{address}",
            account=f"throttle:sign-in:account:{account}",
            address=f"throttle:sign-in:address:{address}",
            known=f"throttle:sign-in:known:{account}",
            address_member=address,
        )

    async def admit_sign_in(self, email: str, client_ip: str | None) -> Decision:
        """Admit and count one sign-in attempt, before its password is checked."""
        keys = self._sign_in_keys(email, client_ip)
        limits = SignInLimits(
            self.limits.failures_per_account,
            self.limits.failures_per_address,
            self.limits.failure_window_seconds,
        )
        return await self._apply(lambda counters: counters.admit_sign_in(keys, limits))

    async def signed_in(self, email: str, client_ip: str | None) -> None:
        """The admitted attempt had the right password."""
        keys = self._sign_in_keys(email, client_ip)
        await self._apply(lambda counters: counters.signed_in(keys))

    # --- registration -------------------------------------------------------------------

    async def admit_registration(self, client_ip: str | None) -> Decision:
        """Admit and count one registration from the address, before its password is hashed."""
        key = f"throttle:register:{address_key(client_ip)}"
        limit = self.limits.registrations_per_address_per_hour
        return await self._apply(
            lambda counters: counters.admit(key, limit, REGISTRATION_WINDOW_SECONDS)
        )

    # --- the current password, when changing it -----------------------------------------

    @staticmethod
    def _password_key(user_id: int) -> str:
        return f"throttle:current-password:{user_id}"

    async def admit_password_check(self, user_id: int) -> Decision:
        """Admit and count one check of a signed-in user's current password."""
        key = self._password_key(user_id)
        limit, window = self.limits.failures_per_account, self.limits.failure_window_seconds
        return await self._apply(lambda counters: counters.admit(key, limit, window))

    async def password_confirmed(self, user_id: int) -> None:
        """The admitted check found the right password: it was no failure."""
        key = self._password_key(user_id)
        await self._apply(lambda counters: counters.refund(key))
