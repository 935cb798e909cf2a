"""A least-recently-used map bounded by a total weight: the one every in-process cache uses.

Parsed documents (bounded in bytes), compiled plans, trusted documents, rate-limit buckets and
the throttles' fallback counts all keep "the most recently used, up to a bound" in memory. It
lives in the lowest layer so each of them, in whichever layer, uses this one implementation.
Not thread-safe: every user touches it from the event loop only, without awaiting in between.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")


def _one(_: object) -> int:
    return 1


class LRU(Generic[K, V]):
    """Entries whose weights sum to at most `capacity`, the least recently used evicted first.

    The default weight of an entry is 1, so `capacity` is then a number of entries.
    """

    def __init__(self, capacity: int, weigh: Callable[[V], int] = _one) -> None:
        self.capacity = capacity
        self.weight = 0
        self._weigh = weigh
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...
    def get(self, key: K, default: object = None) -> object:
        """The value of `key`, now the most recently used; `default` when absent."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        self._entries.move_to_end(key)
        return entry[0]

    def peek(self, key: K) -> V | None:
        """The value of `key` without making it recently used."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: K, value: V) -> bool:
        """Keep `value` as the most recently used, evicting the least recently used until it
        fits; False (and nothing kept, nothing evicted) when it alone outweighs the capacity."""
        weight = self._weigh(value)
        if weight > self.capacity:
            return False
        self.pop(key)
        while self._entries and self.weight + weight > self.capacity:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.weight -= evicted
        self._entries[key] = (value, weight)
        self.weight += weight
        return True

    def pop(self, key: K) -> V | None:
        """Forget `key`; its value, or None."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self.weight -= entry[1]
        return entry[0]

    def clear(self) -> None:
        self._entries.clear()
        self.weight = 0
