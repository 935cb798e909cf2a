"""The change feed: one Redis subscription fanned out by id; pending changes coalesce; a
reconnect resyncs every watcher. Against the suite's real Redis."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from app.settings import Settings
from resolvers.live.feed import ChangeFeed, Watch
from workers.events import JOBS_CHANNEL, PRODUCTS_CHANNEL, publish_products_changed


def test_a_watch_coalesces_changes_and_reports_a_resync_as_everything() -> None:
    async def scenario() -> None:
        watch = Watch(frozenset({1, 2, 3}))
        watch.notify([2])
        watch.notify([1, 2])
        assert await watch.next() == ([1, 2], False)
        watch.notify([3])
        watch.resync()
        assert await watch.next() == ([1, 2, 3], True)
        assert not watch._wake.is_set()

    asyncio.run(scenario())


def test_dispatch_reaches_only_the_watchers_of_those_ids_on_that_channel() -> None:
    async def scenario() -> None:
        feed = ChangeFeed("redis://127.0.0.1:1/0")  # never started: dispatch by hand
        feed.connected.set()
        async with (
            feed.watch(PRODUCTS_CHANNEL, [1, 2]) as first,
            feed.watch(PRODUCTS_CHANNEL, [2]) as second,
            feed.watch(JOBS_CHANNEL, [1]) as job,
        ):
            feed.dispatch(PRODUCTS_CHANNEL, [1, 9])
            assert await first.next() == ([1], False)
            assert not second._wake.is_set() and not job._wake.is_set()
            assert feed.watchers() == 3
        assert feed.watchers() == 0
        await feed.close()

    asyncio.run(scenario())


async def test_one_redis_subscription_serves_every_watcher(
    settings: Settings, redis: Redis
) -> None:
    assert settings.redis_url
    feed = ChangeFeed(settings.redis_url)
    try:
        async with (
            feed.watch(PRODUCTS_CHANNEL, [7]) as a,
            feed.watch(PRODUCTS_CHANNEL, [7, 8]) as b,
        ):
            await asyncio.wait_for(feed.connected.wait(), 15)
            await asyncio.wait_for(a.next(), 15)  # the resync after connecting
            await asyncio.wait_for(b.next(), 15)
            await publish_products_changed(redis, [8, 7])
            assert await asyncio.wait_for(a.next(), 15) == ([7], False)
            assert await asyncio.wait_for(b.next(), 15) == ([7, 8], False)
    finally:
        await feed.close()
