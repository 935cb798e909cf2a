"""Compiled queries: a query operation answered by one SQL statement building `data`.

`QueryCompiler.plan` turns a validated operation, for a viewer's role class, into a
`Statement` (resolvers.compiler.build), or None when the compiler cannot give the executor's
exact answer (then the executor runs, unchanged). Plans are kept in a bounded LRU by
(document, operation, role, variables): the SQL and its parameters depend on them all, and the
viewer's own id is filled in per request. `run` executes a plan: one statement, its single value
the JSON text of `data`, never turned into Python objects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only, greenlet_spawn

from db.lru import LRU
from db.session import SessionFactory
from db.users import User
from resolvers.compiler.build import Statement
from resolvers.compiler.mapping import Role
from resolvers.compiler.roots import build_statement
from resolvers.compiler.selection import Unsupported
from resolvers.viewer import Viewer

logger = logging.getLogger("catalog.compiler")

# Variables longer than this (as JSON) are compiled but their plan is not kept.
MAX_CACHED_VARIABLES = 2048


def role_of(viewer: Viewer) -> Role | None:
    """The role class a plan is compiled for; None for a bad token (the executor answers
    UNAUTHENTICATED where a field needs the viewer)."""
    if viewer.auth_error is not None:
        return None
    user: User | None = viewer.signed_in
    if user is None:
        return Role.ANONYMOUS
    return Role.STAFF if user.role.is_staff else Role.CUSTOMER


class QueryCompiler:
    def __init__(self, max_plans: int = 1000) -> None:
        self._plans: LRU[tuple[Any, ...], Statement | None] = LRU(max_plans)

    def __len__(self) -> int:
        return len(self._plans)

    def plan(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        role: Role,
    ) -> Statement | None:
        if not _is_query(document, operation_name):
            # Mutations and subscriptions are never compiled: no variables to serialize, no
            # cache entry per distinct call (a checkout's key is new every time).
            return None
        try:
            shown = json.dumps(variables or {}, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return None
        key = (query, operation_name, role, shown)
        if key in self._plans:
            return self._plans.get(key)
        statement = self._compile(schema, document, operation_name, variables, role)
        if len(shown) <= MAX_CACHED_VARIABLES:
            self._plans.put(key, statement)
        return statement

    def _compile(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        role: Role,
    ) -> Statement | None:
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return None
        coerced = get_variable_values(
            schema, operation.variable_definitions or [], dict(variables or {})
        )
        if isinstance(coerced, list):  # the executor reports the variables' errors
            return None
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        try:
            return build_statement(schema, fragments, operation, coerced, role)
        except Unsupported as reason:
            logger.debug("not compiled (%s): %s", _name(operation), reason)
            return None
        except Exception:  # a compiler bug must not fail the request: the executor answers
            logger.exception("compiling %s failed; the executor answers", _name(operation))
            return None


def _name(operation: OperationDefinitionNode) -> str:
    return operation.name.value if operation.name else "anonymous operation"


async def run(readers: SessionFactory, statement: Statement, viewer: Viewer) -> str:
    """The JSON text of `data`: one statement, in an autocommit reader session."""
    params = list(statement.params)
    if statement.viewer_index is not None:
        user = viewer.signed_in
        params[statement.viewer_index] = user.id if user is not None else None
    # The readers' engine (autocommit) straight, without an ORM session around one statement;
    # checkout, statement and return in one greenlet (an AsyncConnection takes one for each).
    engine: AsyncEngine = readers.kw["bind"]
    text: str = await greenlet_spawn(_run, engine.sync_engine, statement.sql, tuple(params))
    return text


def _run(engine: Engine, sql: str, params: tuple[Any, ...]) -> str:
    if _observed(engine):
        # Someone counts or logs statements (the tests, the bench, echo): through SQLAlchemy's
        # execution, so they see this one as every other.
        with engine.connect() as connection:
            text: str = connection.exec_driver_sql(sql, params).scalar_one()
        return text
    # Otherwise the driver's own call on a pooled connection: SQLAlchemy's Connection,
    # execution context, cursor and result cost about 60 µs of a worker's CPU per request,
    # a fifth of all the Python a compiled answer takes. The pool is the same (its checkout
    # check, its reset on return); without a transaction asyncpg runs the statement on its
    # own, as the readers' autocommit does.
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        assert driver is not None  # a checked-out connection is a live one
        text = await_only(driver.fetchval(sql, *params))
    except BaseException:
        # A failed or cancelled statement (the deadline) may leave the connection mid-reply:
        # drop it rather than hand it to the next request. Rare: such a plan is dropped too.
        pooled.invalidate()
        raise
    finally:
        pooled.close()
    return text


def _observed(engine: Engine) -> bool:
    """Whether statements on `engine` are logged or have listeners (the readers' engine shares
    its parent's)."""
    return bool(engine.echo or engine.dispatch.before_cursor_execute)


__all__ = ["QueryCompiler", "Role", "Statement", "role_of", "run"]


def _is_query(document: DocumentNode, operation_name: str | None) -> bool:
    """Whether the operation to run is a query (an unknown one: let `_compile` decide)."""
    operation = get_operation_ast(document, operation_name)
    return operation is None or operation.operation is OperationType.QUERY
