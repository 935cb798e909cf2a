"""The execution deadline: an operation still running after `seconds` is stopped.

Stopping means cancelling: the request's task (and with it every resolver awaiting, and the
PostgreSQL statement each is waiting on: asyncpg cancels it on the server, and a writer's
transaction rolls back) and the dataloader batches, which run in tasks of their own. The
client gets DEADLINE_EXCEEDED naming the limit. This sits beside PostgreSQL's statement
timeout, which bounds one statement; the deadline bounds the whole operation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers.context import Context
from resolvers.errors import DeadlineExceeded

logger = logging.getLogger("catalog.graphql")


class ExecutionDeadline(SchemaExtension):
    """Stops the execution after `seconds` (see the module)."""

    def __init__(self, *, seconds: float) -> None:
        self.seconds = seconds

    async def on_execute(self) -> AsyncIterator[None]:
        context: Context = self.execution_context.context
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            # Runs as long as the client listens; each event's reads are bounded by
            # DB_STATEMENT_TIMEOUT_MS, and the connection's limits bound the rest.
            yield
            return
        try:
            async with asyncio.timeout(self.seconds) as deadline:
                yield
        except TimeoutError:
            if not deadline.expired():
                raise  # not ours
            context.cancel_loading()
            raise deadline_exceeded(context, self.seconds) from None


def deadline_exceeded(context: Context, seconds: float) -> DeadlineExceeded:
    """The error of an operation stopped at the deadline (logged here)."""
    logger.warning(
        "request %s stopped at the execution deadline (%s s)", context.request_id, seconds
    )
    return DeadlineExceeded(
        f"The operation did not finish within the execution deadline of {seconds:g}"
        " seconds and was stopped."
    )
