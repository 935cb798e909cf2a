"""After an order's transaction commits: hand its email to the worker and announce the stock
it moved, in one pipeline (one Redis round trip). Never raises: if Redis is away, the outbox
sweep delivers the email later and the stock change stays in the database for the next reader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from workers.events import queue_products_changed
from workers.outbox import queue_new_emails

logger = logging.getLogger("catalog.orders")


async def announce(redis: ArqRedis, email_id: int, product_ids: Iterable[int]) -> None:
    try:
        async with redis.pipeline(transaction=False) as pipe:
            queue_new_emails(pipe, redis, [email_id])
            queue_products_changed(pipe, product_ids)
            await pipe.execute()
    except (RedisError, OSError, TimeoutError):
        logger.warning(
            "could not enqueue email %s nor announce the stock change; the outbox sweep will "
            "retry the email",
            email_id,
        )
