"""The Schema: every domain's Query and Mutation merged, plus the limits of every request.

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
from strawberry.extensions import MaxTokensLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.compiler import QueryCompiler
from resolvers.rate_limit import RateBudget, RateLimiter
from schema.auth_fields import OneAuthField
from schema.catalog import CatalogQuery
from schema.catalog_admin import CatalogMutation
from schema.compiled import CompiledQueries
from schema.deadline import ExecutionDeadline
from schema.document_cache import CachedDocuments, DocumentCache
from schema.document_limits import DocumentLimits, ValidationRules, validation_rules
from schema.extensions import (
    ErrorPolicy,
    OperationChoice,
    is_unexpected,
    mask_unexpected,
    with_code,
)
from schema.imports import ImportMutation, ImportQuery
from schema.input_strings import InputStrings
from schema.jobs import JobMutation, JobQuery
from schema.naming import CachedNameConverter
from schema.node import NodeQuery
from schema.order_mutations import OrderMutation
from schema.orders import OrderQuery
from schema.request_cost import RequestCost
from schema.review_mutations import ReviewMutation, ReviewQuery
from schema.scalars import SCALAR_OVERRIDES
from schema.subscriptions import Subscription
from schema.users import UserMutation, UserQuery


@strawberry.type
class Query(UserQuery, NodeQuery, CatalogQuery, ReviewQuery, OrderQuery, JobQuery, ImportQuery):
    pass


@strawberry.type
class Mutation(
    UserMutation, ReviewMutation, CatalogMutation, OrderMutation, JobMutation, ImportMutation
):
    pass


@dataclass(frozen=True)
class Limits:
    """The limits on a request, from the settings of the same names (see app/settings.py)."""

    max_depth: int = 10
    max_tokens: int = 1000
    max_aliases: int = 15
    max_directives: int = 10
    max_cost: int = 5000
    document_cache_bytes: int = 16 * 1024 * 1024
    deadline_seconds: float = 10.0
    rate: RateBudget | None = None  # None: no rate limit


@dataclass(frozen=True)
class Shared:
    """What the schemas of one process share: the document cache (one memory budget) and the
    rate limiter (its buckets, when Redis is unreachable)."""

    documents: DocumentCache
    rate_limiter: RateLimiter | None
    # Compiled queries' plans (None: COMPILED_QUERIES is off, the executor answers all).
    compiler: QueryCompiler | None = None

    @classmethod
    def for_limits(cls, limits: Limits, *, compiled_queries: bool = False) -> Shared:
        return cls(
            DocumentCache(limits.document_cache_bytes),
            RateLimiter(limits.rate) if limits.rate is not None else None,
            QueryCompiler() if compiled_queries else None,
        )


class CatalogSchema(strawberry.Schema):
    # Whether error messages may carry "Did you mean …?" (set by build_schema).
    suggestions: bool = True
    # The document cache and rate limiter it uses (set by build_schema).
    shared: Shared

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
        return self.finish_errors(result, context_value)

    def finish_errors(self, result: ExecutionResult, context: Any) -> ExecutionResult:
        """`result` with every error masked (if unexpected) and coded. An error raised in an
        extension hook (a validation rule, the cached parser) is caught by strawberry outside
        the operation, so ErrorPolicy never sees it: without this, its message (which may hold
        SQL or internals) would reach the client. Subscriptions' results pass here too."""
        if result.errors:
            result.errors = [
                mask_unexpected(error, context)
                if is_unexpected(error)
                else with_code(error, self.suggestions)
                for error in result.errors
            ]
        return result


def build_schema(
    *, limits: Limits = Limits(), introspection: bool = True, shared: Shared | None = None
) -> CatalogSchema:
    """The schema, with the limits of every request: `shared` between the schemas of a process.

    The checks run cheapest first, each before anything costlier: the document's length (in
    the HTTP layer, before parsing); its characters and its token count (parsing); its string
    literals, then depth, aliases and directives (linear passes), then graphql-core's rules;
    then the variables' strings, the cost limit and the rate limit, charged with that cost;
    and finally the execution deadline. The cache stores a document only once it passed every
    check of the document itself, and spares the documents it holds those checks.
    """
    shared = shared or Shared.for_limits(limits)
    # Factories, not instances: each operation gets its own extension objects.
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ErrorPolicy, suggestions=introspection),
        OperationChoice,
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        # graphql-core's rules and ours (at most one sign-in field per request), applied to
        # every document the cache does not hold yet.
        partial(ValidationRules, (*validation_rules(introspection=introspection), OneAuthField)),
        InputStrings,
        partial(CachedDocuments, shared.documents),
        partial(
            DocumentLimits,
            max_depth=limits.max_depth,
            max_aliases=limits.max_aliases,
            max_directives=limits.max_directives,
        ),
        partial(RequestCost, max_cost=limits.max_cost, rate_limiter=shared.rate_limiter),
    ]
    if shared.compiler is not None:
        # After the cost and rate limits; it applies the deadline to its statement itself.
        extensions.append(
            partial(CompiledQueries, shared.compiler, deadline_seconds=limits.deadline_seconds)
        )
    extensions.append(partial(ExecutionDeadline, seconds=limits.deadline_seconds))
    built = CatalogSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, name_converter=CachedNameConverter()),
        scalar_overrides=SCALAR_OVERRIDES,
    )
    built.suggestions = introspection
    built.shared = shared
    return built


# The schema `catalog export-schema` prints (limits do not change the SDL).
schema = build_schema()
