"""The fast path of compiled queries: answering a repeated compiled query from the HTTP layer.

A query the compiler answered once (schema/compiled.py, inside strawberry's `execute`) had, to
get there, passed every check that depends only on the request's document and variables:
parsing, the token limit, the operation choice, the string checks, the depth, alias and
directive limits, graphql-core's validation rules, the variables' coercion and the cost limit.
Its plan is kept here with those verdicts, under the key they are a function of:

    (the schema, the query text, operationName, the variables as sent, the viewer's role class)

and the next request with the same key skips strawberry altogether (parse, validation, the
extensions, the executor and the request's dataloaders). What depends on the request is still
done for each one, as on the normal path and in the same order: the bearer token (a bad or
expired one has no role class, so it never takes this path), the persisted-query rules (the
query text is the one they resolved), the rate limit charged with the cached cost, and the
execution deadline around the statement. The answer goes through the same `respond` (status
codes, media types, the response size limit, the `x-catalog-path` header and log field).

A statement that fails here drops its plan and the request takes the normal path (its rate
limit already charged, `Context.rate_charged`), where the executor answers as it would have.
Only requests whose plan is known take this path: anything refused, not compiled or with
errors is answered by strawberry every time, identically.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from strawberry.types import ExecutionResult

from app.graphql_params import GraphQLParams
from db.lru import LRU
from resolvers.compiler import Role, Statement, run
from resolvers.context import Context
from resolvers.errors import ApiError
from resolvers.rate_limit import RateLimiter
from schema.deadline import deadline_exceeded
from schema.request_cost import charge, cost_extensions
from schema.root import CatalogSchema

logger = logging.getLogger("catalog.compiler")

# Variables longer than this (as JSON) are answered but their plan is not kept (as the
# compiler's own plans: resolvers.compiler.MAX_CACHED_VARIABLES).
MAX_KEPT_VARIABLES = 2048
# A document is kept in strawberry's document cache too: plans of longer texts are not kept.
MAX_KEPT_QUERY = 16_384

PlanKey = tuple[int, str, str | None, Role, bytes]


@dataclass(frozen=True)
class Plan:
    statement: Statement
    cost: int


def plan_key(schema: strawberry.Schema, params: GraphQLParams, role: Role | None) -> PlanKey | None:
    """The key of a request's plan, or None when it cannot have one kept."""
    query = params.query
    if role is None or query is None or len(query) > MAX_KEPT_QUERY:
        return None
    variables = params.variables
    if variables:
        try:
            # Distinct values give distinct texts (1 and 1.0, true and 1 included); a value
            # orjson refuses (a lone surrogate, an integer over 64 bits) is not kept.
            shown = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONEncodeError, TypeError):
            return None
        if len(shown) > MAX_KEPT_VARIABLES:
            return None
    else:
        shown = b"null" if variables is None else b"{}"
    return (id(schema), query, params.operation_name, role, shown)


class CompiledPlans:
    """A bounded LRU of plans by `plan_key`, and the fast path answering from it."""

    def __init__(
        self,
        *,
        max_cost: int,
        deadline_seconds: float,
        rate_limiter: RateLimiter | None,
        max_plans: int = 1000,
    ) -> None:
        self.max_cost = max_cost
        self.deadline_seconds = deadline_seconds
        self.rate_limiter = rate_limiter
        self._plans: LRU[PlanKey, Plan] = LRU(max_plans)

    def __len__(self) -> int:
        return len(self._plans)

    def get(self, key: PlanKey) -> Plan | None:
        return self._plans.get(key)

    def remember(self, key: PlanKey, context: Context, result: ExecutionResult) -> None:
        """Keep the plan of a request the compiler answered on the normal path, with no error
        (its cost as the cost check computed it)."""
        statement = context.compiled
        if statement is None or context.answered_by != "compiled" or result.errors:
            return
        cost = (result.extensions or {}).get("cost", {}).get("requested")
        if not isinstance(cost, int) or cost > self.max_cost:
            return
        self._plans.put(key, Plan(statement, cost))

    async def answer(
        self, schema: strawberry.Schema, key: PlanKey, plan: Plan, context: Context
    ) -> ExecutionResult | None:
        """The result of a request with a known plan, as the normal path would give it; None
        when the statement failed (the normal path answers: the executor)."""
        extensions = cost_extensions(plan.cost, self.max_cost)
        if self.rate_limiter is not None:
            refused = await charge(self.rate_limiter, context, plan.cost)
            if refused is not None:
                return self._refusal(schema, refused, extensions, context)
            context.rate_charged = True
        context.answered_by = "executor"  # as the compiler's hook: until the statement answered
        try:
            async with asyncio.timeout(self.deadline_seconds):
                text = await run(context.readers, plan.statement, context.viewer)
        except TimeoutError:
            error = deadline_exceeded(context, self.deadline_seconds)
            return self._refusal(schema, error, extensions, context)
        except Exception:  # a compiler bug must not fail the request: the executor answers
            logger.exception("the compiled statement failed; the executor answers")
            self._plans.pop(key)
            context.answered_by = None
            return None
        context.answered_by = "compiled"
        data: Any = orjson.Fragment(text)
        return ExecutionResult(data=data, errors=None, extensions=extensions)

    @staticmethod
    def _refusal(
        schema: strawberry.Schema, error: ApiError, extensions: dict[str, Any], context: Context
    ) -> ExecutionResult:
        """An error raised where the normal path raises it (a hook of `execute`): strawberry
        answers it with `data: null`, then the schema's error policy codes it."""
        result = ExecutionResult(data=None, errors=[error], extensions=extensions)
        if isinstance(schema, CatalogSchema):
            result = schema.finish_errors(result, context)
        return result
