"""Change events: after a commit, say which objects changed, on Redis pub/sub.

Every API process and worker publishes here; every API process that serves subscriptions
listens (see the subscription side). A message names only what changed (ids), never its new
state: a subscriber reads the current state itself, so a message lost while Redis was away
costs freshness, never correctness (a subscriber that reconnects reads the current state).

Publish after the transaction commits, never inside it: a rolled-back change must not be
announced. Publishing never raises; Redis being down is logged and the change stays in the
database for the next reader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

logger = logging.getLogger("catalog.events")

JOBS_CHANNEL = "catalog:events:jobs"
PRODUCTS_CHANNEL = "catalog:events:products"


async def _publish(redis: Redis, channel: str, ids: list[int]) -> None:
    if not ids:
        return
    try:
        await redis.publish(channel, orjson.dumps({"ids": ids}))
    except (RedisError, OSError, TimeoutError):
        logger.warning("could not publish %s change event for %s id(s)", channel, len(ids))


async def publish_jobs_changed(redis: Redis, job_ids: Iterable[int]) -> None:
    """A job's status, progress, counts or errors changed (committed)."""
    await _publish(redis, JOBS_CHANNEL, sorted(set(job_ids)))


def queue_products_changed(pipe: Pipeline, product_ids: Iterable[int]) -> None:
    """`publish_products_changed` as one command of `pipe`, a pipeline the caller executes
    (catching Redis errors as `_publish` does)."""
    ids = sorted(set(product_ids))
    if ids:
        pipe.publish(PRODUCTS_CHANNEL, orjson.dumps({"ids": ids}))


async def publish_products_changed(redis: Redis, product_ids: Iterable[int]) -> None:
    """A product's price, stock or status changed (committed), whatever changed it."""
    await _publish(redis, PRODUCTS_CHANNEL, sorted(set(product_ids)))


def decode_ids(message: bytes | str) -> list[int]:
    """The ids of a change message; [] for anything malformed."""
    try:
        decoded = orjson.loads(message)
        ids = decoded["ids"] if isinstance(decoded, dict) else None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return []
    if not isinstance(ids, list):
        return []
    return [value for value in ids if type(value) is int]
