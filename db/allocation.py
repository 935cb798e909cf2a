"""Allocate an order's stock and commit, in one round trip to PostgreSQL.

A hot product's row stays locked from its allocation until the transaction's COMMIT is done.
Sent as two messages, the COMMIT waits for the application to read the allocation's answer
and send the next statement: on a busy event loop (other requests' CPU work) that gap was most
of the time the row was held, and every other buyer of the product queued behind it. Here the
allocation (the `allocate_order` function, migration 0009) and the COMMIT go in one simple-
protocol message, so the server releases the row as soon as the commit is durable.

`SELECT allocate_order(<id>); COMMIT; BEGIN`: the trailing BEGIN leaves the connection in a
(new, empty) transaction, as the driver's transaction object still believes, so the caller
ends it as usual (`commit()`: cheap, nothing to flush; or `rollback()` after a refusal, when
the error skipped the rest of the message and left the transaction aborted). Only an integer
is formatted into the SQL: the simple protocol has no parameters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection


class Shortfall(enum.Enum):
    """Why a line was not allocated: the SQLSTATEs allocate_order raises."""

    STOCK = "CA001"  # the product has fewer units than the line
    UNAVAILABLE = "CA002"  # no longer published (or gone)
    CHANGED = "CA003"  # SKU, name, price or currency changed since the line was written


@dataclass(frozen=True)
class Refusal:
    reason: Shortfall
    product_id: int
    stock: int  # the product's stock when it was refused


def _refusal(error: BaseException) -> Refusal | None:
    """The refusal `error` carries, if it is one of allocate_order's (DETAIL: `<id> <stock>`)."""
    sqlstate = getattr(error, "sqlstate", None)
    detail = getattr(error, "detail", None)
    try:
        reason = Shortfall(sqlstate)
    except ValueError:
        return None
    product_id, stock = (int(part) for part in str(detail).split())
    return Refusal(reason, product_id, stock)


async def allocate_and_commit(connection: AsyncConnection, order_id: int) -> Refusal | None:
    """Allocate every line of `order_id` (written in this transaction) and commit: None when
    committed. On a refusal nothing is committed and the transaction is aborted: the caller
    rolls back. Any other error is raised (the transaction is then aborted too)."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None, "a checked-out connection has its driver connection"
    statement = f"SELECT allocate_order({int(order_id)}); COMMIT; BEGIN"
    try:
        await driver.execute(statement)
    except Exception as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        return refusal
    return None
