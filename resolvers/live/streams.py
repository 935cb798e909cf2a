"""Following objects through the change feed: their current state first, then each change.

One loop for every subscription: register with the feed BEFORE reading the current state (so
a change committed in between is not missed), send the state of each visible object, then wait
for change hints and send what actually changed. A resync (the feed reconnected to Redis)
sends the current state of everything again, changed or not: the client learns it is fresh.
An object that is gone or no longer visible to the subscriber is simply not sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from resolvers.live.feed import ChangeFeed

T = TypeVar("T")

# Reads the objects of these keys the subscriber may see (absent keys: not visible).
Reader = Callable[[Sequence[int]], Awaitable[dict[int, T]]]


async def follow(
    feed: ChangeFeed,
    channel: str,
    keys: Sequence[int],
    read: Reader[T],
    fingerprint: Callable[[T], Hashable],
) -> AsyncIterator[T]:
    """The objects of `keys` now, then whenever their fingerprint changes (see the module)."""
    async with feed.watch(channel, keys) as watch:
        sent: dict[int, Hashable] = {}
        changed, resync = sorted(set(keys)), True
        while True:
            if changed:
                found = await read(changed)
                for key in changed:
                    item = found.get(key)
                    if item is None:
                        sent.pop(key, None)
                        continue
                    mark = fingerprint(item)
                    if resync or sent.get(key) != mark:
                        sent[key] = mark
                        yield item
            changed, resync = await watch.next()
