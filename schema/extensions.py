"""Schema extensions: the error policy (masking, codes, logging), the choice of operation, and
the validation rule limiting query depth and aliases."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationRule,
)
from strawberry.extensions import MaskErrors, SchemaExtension

from resolvers.errors import ApiError

logger = logging.getLogger("catalog.graphql")

# graphql-core's `did_you_mean`: " Did you mean [the enum value ]'A', 'B', or 'C'?". Not always at
# the end: an unknown input field reads "... field 'x'. Did you mean 'y'? Found: {...}.".
_SUGGESTION = re.compile(r" ?Did you mean (?:[a-z ]+ )?'\w+'(?:,? (?:or )?'\w+')*\?")


def _request_id(context: object) -> str:
    return str(getattr(context, "request_id", "-"))


def request_error_code(error: GraphQLError) -> str:
    """The code of an error raised before execution (no path): parse, validate or coerce."""
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable "):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def is_unexpected(error: GraphQLError) -> bool:
    """Whether the error wraps an exception that is not a GraphQL error (a bug or an outage)."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def mask_unexpected(error: GraphQLError, context: object) -> GraphQLError:
    """Log an unexpected error with its traceback and request id; the client sees neither."""
    request_id = _request_id(context)
    logger.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or []) or "operation",
        request_id,
        exc_info=error.original_error,
    )
    return GraphQLError(
        message="Internal server error.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


class ErrorPolicy(MaskErrors):
    """Unexpected exceptions become INTERNAL_SERVER_ERROR (logged with the request id); every
    error gets an `extensions.code`; field suggestions are removed when they are turned off."""

    def __init__(self, *, suggestions: bool) -> None:
        super().__init__(
            should_mask_error=self._is_unexpected, error_message="Internal server error."
        )
        self.suggestions = suggestions

    @staticmethod
    def _is_unexpected(error: GraphQLError) -> bool:
        return is_unexpected(error)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return mask_unexpected(error, self.execution_context.context)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [with_code(error, self.suggestions) for error in super()._process_errors(errors)]


class OperationChoice(SchemaExtension):
    """A document with several operations must say which one to run (GraphQL spec,
    "GetOperation"); left alone, the first would run silently."""

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        # The name the client sent (Strawberry's own `operation_name` falls back to the first).
        chosen = getattr(self.execution_context.context, "operation_name", None)
        if document is None or chosen is not None:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1:
            raise GraphQLError(
                "Must provide operation name if query contains multiple operations.",
                extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
            )


def with_code(error: GraphQLError, suggestions: bool) -> GraphQLError:
    """The error with an `extensions.code` (and, when suggestions are off, without them)."""
    if error.extensions and "code" in error.extensions:
        return error
    code = ApiError.code if error.path else request_error_code(error)
    return GraphQLError(
        message=error.message if suggestions else _SUGGESTION.sub("", error.message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )


SelectionOwner = OperationDefinitionNode | FragmentDefinitionNode | FieldNode | InlineFragmentNode


class _Measure:
    """The depth and the alias count of selection sets, each fragment measured once.

    strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread,
    so a short document whose fragments each spread the previous one twice takes exponential
    time to validate (a denial of service); the depth limiter also crashes on a spread of an
    unknown fragment. Here each fragment's result is memoised; a spread of an unknown fragment
    or a cycle counts as nothing (KnownFragmentNames and NoFragmentCycles report those).
    """

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.measured: dict[str, tuple[int, int]] = {}
        self.entered: set[str] = set()

    def __call__(self, owner: SelectionOwner) -> tuple[int, int]:
        """(how many levels of fields lie below `owner`, how many aliases its fields have)."""
        depth = aliases = 0
        for selection in owner.selection_set.selections if owner.selection_set else ():
            if isinstance(selection, FieldNode):
                aliases += 1 if selection.alias else 0
                if selection.selection_set is not None:
                    below, inner = self(selection)
                    aliases += inner
                    # Introspection (by field name, not alias) is bounded by the schema itself.
                    if not selection.name.value.startswith("__"):
                        depth = max(depth, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                below, inner = self(selection)
                depth, aliases = max(depth, below), aliases + inner
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in self.measured:
                    fragment = self.fragments.get(name)
                    if fragment is None or name in self.entered:
                        continue
                    self.entered.add(name)
                    self.measured[name] = self(fragment)
                    self.entered.discard(name)
                below, inner = self.measured[name]
                depth, aliases = max(depth, below), aliases + inner
        return depth, aliases


def query_limits_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A rule refusing operations nested deeper than `max_depth` fields (introspection aside)
    and documents with more than `max_aliases` aliases (each fragment spread counted)."""

    class QueryLimits(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            measure = _Measure(node)
            total_aliases = 0
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth, aliases = measure(definition)
                total_aliases += aliases
                if depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            definition,
                        )
                    )
            if total_aliases > max_aliases:
                self.report_error(
                    GraphQLError(f"{total_aliases} aliases found. Allowed: {max_aliases}")
                )

    return QueryLimits
