"""The Schema: every domain's Query and Mutation merged, plus limits against hostile queries.

Two variants are built from the same types: `full` (introspection and field suggestions on) for
development and staff, and `public` for everyone else in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.extensions.query_depth_limiter import IgnoreContext
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.extensions import ErrorPolicy
from schema.users import UserMutation, UserQuery


@strawberry.type
class Query(UserQuery):
    pass


@strawberry.type
class Mutation(UserMutation):
    pass


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_tokens: int = 2000
    max_aliases: int = 30


def _is_introspection(context: IgnoreContext) -> bool:
    # Introspection's own nesting (ofType chains) is bounded by the schema, not the client.
    return context.field_name.startswith("__")


class CatalogSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes are not server errors; ErrorPolicy logs the unexpected ones, with the
        # request id, and nothing else needs a traceback.
        return None


def build_schema(*, limits: Limits = Limits(), introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: each operation gets its own extension objects.
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ErrorPolicy, suggestions=introspection),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        partial(QueryDepthLimiter, max_depth=limits.max_depth, should_ignore=_is_introspection),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return CatalogSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )


# The schema `catalog export-schema` prints (limits do not change the SDL).
schema = build_schema()
