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


def cost_limit_exceeded(cost: int, max_cost: int) -> CostLimitExceeded:
    return CostLimitExceeded(
        f"This operation costs {cost}, over the limit of {max_cost}: ask for "
        "fewer items (first/last) or fewer nested lists."
    )


def cost_extensions(cost: int, max_cost: int) -> dict[str, Any]:
    """The `extensions` of every response from the cost check on."""
    return {"cost": {"requested": cost, "limit": max_cost}}


async def charge(rate_limiter: RateLimiter, context: Context, cost: int) -> RateLimited | None:
    """Charge the caller's bucket with `cost` (at least 1, so floods of free requests are
    limited too): None when paid, else the error to answer (and the context asks the client
    to slow down)."""
    caller, staff = caller_of(context)
    wait = await rate_limiter.charge(context.services.redis, caller, max(cost, 1), staff=staff)
    if wait is None:
        return None
    context.slow_down(wait)
    return RateLimited(
        f"Rate limit exceeded: this operation costs {cost}; try again in "
        f"{max(1, math.ceil(wait))} s.",
        wait,
    )


class RequestCost(SchemaExtension):
    """Costs the operation, refuses it over the limit, charges the caller's bucket (unless
    the HTTP layer's plan cache already charged it: `Context.rate_charged`)."""

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
                raise cost_limit_exceeded(cost, self.max_cost)
            context: Context = execution.context
            if self.rate_limiter is not None and not context.rate_charged:
                refused = await charge(self.rate_limiter, context, cost)
                if refused is not None:
                    raise refused
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return cost_extensions(self.cost, self.max_cost)
