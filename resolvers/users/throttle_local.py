"""The auth throttles' counts in this process's memory: the fallback while Redis is away.

The same rules as in Redis (`throttle_rules`), per process instead of shared, so an attacker
gets at most the limits times the number of API processes while Redis is down, rather than no
limit at all. Bounded: beyond `max_entries` the least recently touched counts are forgotten.
Each method runs without awaiting anything, so each is atomic on the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from db.lru import LRU
from resolvers.users.throttle_rules import (
    ALLOWED,
    KNOWN_ADDRESS_SECONDS,
    Decision,
    SignInKeys,
    SignInLimits,
)

MAX_ENTRIES = 50_000


@dataclass(slots=True)
class _Count:
    value: int
    expires_at: float


class LocalCounters:
    """`throttle_rules.Counters` in memory, with expiring entries and a bound on their number."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: LRU[str, _Count] = LRU(max_entries)
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def _count(self, key: str) -> int:
        entry = self._entries.peek(key)
        if entry is None:
            return 0
        if entry.expires_at <= self._clock():
            self._entries.pop(key)
            return 0
        return entry.value

    def _refused(self, key: str) -> Decision:
        entry = self._entries.peek(key)
        expires_at = self._clock() if entry is None else entry.expires_at
        return Decision(False, max(expires_at - self._clock(), 0.0))

    def _set(self, key: str, value: int, ttl_seconds: float) -> None:
        self._entries.put(key, _Count(value, self._clock() + ttl_seconds))

    def _increment(self, key: str, window_seconds: int) -> None:
        self._set(key, self._count(key) + 1, window_seconds)

    def _decrement(self, key: str) -> None:
        if (count := self._count(key)) > 0:
            entry = self._entries.peek(key)
            if entry is not None:
                entry.value = count - 1

    @staticmethod
    def _known_key(keys: SignInKeys) -> str:
        return f"{keys.known}|{keys.address_member}"

    async def admit(self, key: str, limit: int, window_seconds: int) -> Decision:
        if self._count(key) >= limit:
            return self._refused(key)
        self._increment(key, window_seconds)
        return ALLOWED

    async def refund(self, key: str) -> None:
        self._decrement(key)

    async def admit_sign_in(self, keys: SignInKeys, limits: SignInLimits) -> Decision:
        if self._count(keys.pair) >= limits.per_account:
            return self._refused(keys.pair)
        if not self._count(self._known_key(keys)):
            if self._count(keys.account) >= limits.per_account:
                return self._refused(keys.account)
            if self._count(keys.address) >= limits.per_address:
                return self._refused(keys.address)
        for key in (keys.pair, keys.account, keys.address):
            self._increment(key, limits.window_seconds)
        return ALLOWED

    async def signed_in(self, keys: SignInKeys) -> None:
        self._entries.pop(keys.pair)
        self._decrement(keys.account)
        self._decrement(keys.address)
        self._set(self._known_key(keys), 1, KNOWN_ADDRESS_SECONDS)
