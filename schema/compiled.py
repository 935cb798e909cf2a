"""The hook of compiled queries: after parsing, validation, the cost and rate limits, and
within the execution deadline, a query the compiler can answer is answered by its one SQL
statement; the executor never runs for it. Everything else executes as before.

`data` is the statement's JSON text wrapped in an `orjson.Fragment`, so the HTTP layer writes
those bytes as they are: no Python object per row. The request's context records which path
answered (`Context.answered_by`), for the debug header and the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from resolvers.compiler import QueryCompiler, role_of, run
from resolvers.context import Context
from schema.deadline import deadline_exceeded

logger = logging.getLogger("catalog.compiler")


class CompiledQueries(SchemaExtension):
    """Sits before ExecutionDeadline and keeps the same deadline itself: an exception raised
    while strawberry enters the execution hooks never reaches an earlier hook's `yield`."""

    def __init__(self, compiler: QueryCompiler, *, deadline_seconds: float) -> None:
        self.compiler = compiler
        self.deadline_seconds = deadline_seconds

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        document, query = execution.graphql_document, execution.query
        role = role_of(context.viewer) if isinstance(context, Context) else None
        statement = None
        if document is not None and query is not None and role is not None:
            statement = self.compiler.plan(
                execution.schema._schema,
                query,
                document,
                getattr(context, "operation_name", None),
                execution.variables,
                role,
            )
        if not isinstance(context, Context):
            yield
            return
        context.answered_by = "executor"
        if statement is not None:
            try:
                async with asyncio.timeout(self.deadline_seconds):
                    text = await run(context.readers, statement, context.viewer)
            except TimeoutError:
                raise deadline_exceeded(context, self.deadline_seconds) from None
            except Exception:  # a compiler bug must not fail the request: the executor answers
                logger.exception("the compiled statement failed; the executor answers")
            else:
                data = orjson.Fragment(text)
                execution.result = GraphQLExecutionResult(data=data, errors=None)  # type: ignore[arg-type]
                context.answered_by = "compiled"
                context.compiled = statement
        yield
