"""After an order's transaction commits: hand its email to the worker and announce the stock
it moved, both at once (two independent Redis round trips; neither ever raises)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from arq.connections import ArqRedis

from workers.events import publish_products_changed
from workers.outbox import dispatch_emails


async def announce(redis: ArqRedis, email_id: int, product_ids: Iterable[int]) -> None:
    await asyncio.gather(
        dispatch_emails(redis, [email_id]), publish_products_changed(redis, product_ids)
    )
