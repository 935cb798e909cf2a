"""The change feed: ONE Redis pub/sub connection per API process, fanned out to its subscribers.

Writers (mutations, jobs) announce committed changes with `workers.events` (ids only). Each API
process listens to those channels once, here, and hands every id to the local subscriptions
watching it: a thousand subscribers cost one Redis connection and a dictionary lookup per id.

Reconnecting: when the Redis connection drops, the listener retries with backoff (logging the
loss once and the recovery), and after it is subscribed again every subscriber is told to
resync: it re-reads the current state of everything it watches and sends it, since changes
announced while Redis was away were lost. A subscriber that starts while Redis is down is
resynced the same way. Messages are hints, never state, so nothing else can go wrong.

A subscriber's pending ids are a set: a slow client gets the latest state of each object
once, never an unbounded queue of stale ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from workers.events import JOBS_CHANNEL, PRODUCTS_CHANNEL, decode_ids

logger = logging.getLogger("catalog.live")

CHANNELS = (JOBS_CHANNEL, PRODUCTS_CHANNEL)
INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 5.0
HEALTH_CHECK_SECONDS = 5
SILENCE_SECONDS = 3 * HEALTH_CHECK_SECONDS


class Watch:
    """One subscription's view of the feed: the ids it watches and those changed since."""

    def __init__(self, ids: frozenset[int]) -> None:
        self.ids = ids
        self._pending: set[int] = set()
        self._resync = False
        self._wake = asyncio.Event()

    def notify(self, ids: Iterable[int]) -> None:
        self._pending.update(ids)
        self._wake.set()

    def resync(self) -> None:
        """Everything may have changed unseen (the feed reconnected)."""
        self._resync = True
        self._wake.set()

    async def next(self) -> tuple[list[int], bool]:
        """The ids changed since the last call (sorted), and whether this is a resync (then
        every watched id, whether or not it is known to have changed)."""
        await self._wake.wait()
        self._wake.clear()
        resync, self._resync = self._resync, False
        changed = sorted(self.ids if resync else self._pending)
        self._pending.clear()
        return changed, resync


class ChangeFeed:
    """Listens to the change channels on one Redis connection; `watch` subscribes locally."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._watching: dict[str, dict[int, set[Watch]]] = {
            channel: defaultdict(set) for channel in CHANNELS
        }
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="change-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @asynccontextmanager
    async def watch(self, channel: str, ids: Iterable[int]) -> AsyncIterator[Watch]:
        """Receive the changes of `ids` announced on `channel` while the block runs."""
        self.start()
        watch = Watch(frozenset(ids))
        by_id = self._watching[channel]
        for key in watch.ids:
            by_id[key].add(watch)
        if not self.connected.is_set():
            watch.resync()  # whatever happens before the feed connects would be missed
        try:
            yield watch
        finally:
            for key in watch.ids:
                watchers = by_id.get(key)
                if watchers is not None:
                    watchers.discard(watch)
                    if not watchers:
                        del by_id[key]

    def watchers(self) -> int:
        """How many subscriptions are watching (each counted once)."""
        return len({w for by_id in self._watching.values() for ws in by_id.values() for w in ws})

    def dispatch(self, channel: str, ids: Iterable[int]) -> None:
        by_id = self._watching.get(channel)
        if by_id is None:
            return
        found: dict[Watch, list[int]] = defaultdict(list)
        for key in ids:
            for watch in by_id.get(key, ()):
                found[watch].append(key)
        for watch, keys in found.items():
            watch.notify(keys)

    def _resync_all(self) -> None:
        for watch in {w for by_id in self._watching.values() for ws in by_id.values() for w in ws}:
            watch.resync()

    async def _receive(self, pubsub: PubSub) -> None:
        """Dispatch messages until the connection fails. Redis answers the PING sent every
        HEALTH_CHECK_SECONDS while idle; silence for SILENCE_SECONDS means a connection that
        died without a word (a half-open TCP connection), so it is given up."""
        heard = pinged = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is not None:
                heard = now
            elif now - heard > SILENCE_SECONDS:
                raise ConnectionError("no answer from Redis")
            if now - pinged > HEALTH_CHECK_SECONDS:
                await pubsub.ping()  # answered on this connection by a "pong" message
                pinged = now
            if message is None or message.get("type") != "message":
                continue  # a pong, a subscription confirmation
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            self.dispatch(name, decode_ids(message["data"]))

    async def _listen(self) -> None:
        backoff = INITIAL_BACKOFF
        lost = False
        while True:
            client: Redis = Redis.from_url(
                self.redis_url,
                socket_connect_timeout=2,
                socket_keepalive=True,
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*CHANNELS)
                self.connected.set()
                backoff = INITIAL_BACKOFF
                if lost:
                    logger.warning("change feed: Redis is back; subscribers re-read their state")
                    lost = False
                # Changes announced before this point were not heard: read the current state.
                self._resync_all()
                await self._receive(pubsub)
            except Exception as error:  # the feed must outlive anything: reconnect
                self.connected.clear()
                if not isinstance(error, RedisError | OSError):
                    logger.exception("change feed: unexpected error; reconnecting")
                if not lost:
                    logger.warning(
                        "change feed: Redis connection lost (%s); reconnecting with backoff",
                        error.__class__.__name__,
                    )
                    lost = True
            finally:
                with suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
