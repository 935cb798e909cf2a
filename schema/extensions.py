"""Schema extensions: the error policy (masking, codes, logging) and the choice of operation.
(The limits on documents and requests have modules of their own: see schema/root.py.)"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
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
