"""What a request may cost: the cost limit, and the rate limit charged with that cost.

Before execution, the operation's cost (`schema.cost`) is computed with the request's variables.
Over `max_cost` it is refused (COST_LIMIT_EXCEEDED) with its cost and the limit; otherwise the
caller's bucket (`resolvers.rate_limit`: per user, per client address when anonymous) is
charged, and a caller over budget gets RATE_LIMITED with `extensions.retryAfter` (HTTP 429 with
`Retry-After`, through `Context.slow_down`). Every response from here on carries
`extensions.cost { requested limit }`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

from graphql import get_operation_ast
from strawberry.extensions import SchemaExtension

from resolvers.context import Context
from resolvers.errors import CostLimitExceeded, RateLimited
from resolvers.rate_limit import RateLimiter
from schema.cost import operation_cost


def caller_of(context: Context) -> tuple[str, bool]:
    """(the caller's bucket name, whether they are staff): a user, else a client address.
    A request whose token failed counts as anonymous (its fields say UNAUTHENTICATED)."""
    viewer = context.viewer
    if viewer.auth_error is None and viewer.signed_in is not None:
        return f"user:{viewer.signed_in.id}", viewer.is_staff
    return f"address:{context.client_ip or 'unknown'}", False


class RequestCost(SchemaExtension):
    """Costs the operation, refuses it over the limit, charges the caller's bucket."""

    def __init__(self, *, max_cost: int, rate_limiter: RateLimiter | None) -> None:
        self.max_cost = max_cost
        self.rate_limiter = rate_limiter
        self.cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        operation = get_operation_ast(document, execution.operation_name) if document else None
        if document is not None and operation is not None:
            self.cost = cost = operation_cost(
                execution.schema._schema, document, operation, execution.variables
            )
            if cost > self.max_cost:
                raise CostLimitExceeded(
                    f"This operation costs {cost}, over the limit of {self.max_cost}: ask for "
                    "fewer items (first/last) or fewer nested lists."
                )
            context: Context = execution.context
            if self.rate_limiter is not None:
                caller, staff = caller_of(context)
                # Every request pays at least 1, so floods of free ones are limited too.
                wait = await self.rate_limiter.charge(
                    context.services.redis, caller, max(cost, 1), staff=staff
                )
                if wait is not None:
                    context.slow_down(wait)
                    raise RateLimited(
                        f"Rate limit exceeded: this operation costs {cost}; try again in "
                        f"{max(1, math.ceil(wait))} s.",
                        wait,
                    )
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "limit": self.max_cost}}
