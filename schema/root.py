"""The Schema: every domain's Query and Mutation merged, plus limits against hostile queries.

Two variants are built from the same types: `full` (introspection and field suggestions on) for
development and staff, and `public` for everyone else in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from schema.auth_fields import OneAuthField
from schema.catalog import CatalogQuery
from schema.catalog_admin import CatalogMutation
from schema.extensions import (
    ErrorPolicy,
    OperationChoice,
    is_unexpected,
    mask_unexpected,
    query_limits_rule,
    with_code,
)
from schema.naming import CachedNameConverter
from schema.node import NodeQuery
from schema.review_mutations import ReviewMutation, ReviewQuery
from schema.scalars import SCALAR_OVERRIDES
from schema.users import UserMutation, UserQuery


@strawberry.type
class Query(UserQuery, NodeQuery, CatalogQuery, ReviewQuery):
    pass


@strawberry.type
class Mutation(UserMutation, ReviewMutation, CatalogMutation):
    pass


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_tokens: int = 2000
    max_aliases: int = 30


class CatalogSchema(strawberry.Schema):
    # Whether error messages may carry "Did you mean …?" (set by build_schema).
    suggestions: bool = True

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes are not server errors; ErrorPolicy logs the unexpected ones, with the
        # request id, and nothing else needs a traceback.
        return None

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        result = await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        # An error raised in an extension hook (a validation rule, the cached parser) is caught
        # by strawberry outside the operation, so ErrorPolicy never sees it: mask and code it
        # here, or its message (which may hold SQL or internals) would reach the client.
        if result.errors:
            result.errors = [
                mask_unexpected(error, context_value)
                if is_unexpected(error)
                else with_code(error, self.suggestions)
                for error in result.errors
            ]
        return result


def build_schema(*, limits: Limits = Limits(), introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: each operation gets its own extension objects.
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ErrorPolicy, suggestions=introspection),
        OperationChoice,
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        # Depth (introspection aside) and aliases, in linear time: see query_limits_rule.
        partial(AddValidationRules, [query_limits_rule(limits.max_depth, limits.max_aliases)]),
        partial(AddValidationRules, [OneAuthField]),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    # Last, so the token limit and every validation rule above are part of what is cached:
    # a document parsed and validated once is not parsed and validated again. The caches are
    # bounded, so unique documents from clients cannot grow memory.
    extensions += [partial(ParserCache, maxsize=512), partial(ValidationCache, maxsize=512)]
    built = CatalogSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, name_converter=CachedNameConverter()),
        scalar_overrides=SCALAR_OVERRIDES,
    )
    built.suggestions = introspection
    return built


# The schema `catalog export-schema` prints (limits do not change the SDL).
schema = build_schema()
