"""Schema extensions: error policy (masking, codes, logging) shared by HTTP and WebSocket."""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from schema.errors import ApiError

logger = logging.getLogger("catalog.graphql")

_SUGGESTION = re.compile(r"\s*Did you mean .*\?$")


def _request_id(context: object) -> str:
    return str(getattr(context, "request_id", "-"))


def request_error_code(error: GraphQLError) -> str:
    """The code of an error raised before execution (no path): parse, validate or coerce."""
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable "):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


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
        original = error.original_error
        return original is not None and not isinstance(original, GraphQLError)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = _request_id(self.execution_context.context)
        logger.error(
            "unexpected error in %s (request %s)",
            ".".join(str(p) for p in error.path or []) or "operation",
            request_id,
            exc_info=error.original_error,
        )
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed: list[GraphQLError] = []
        for error in super()._process_errors(errors):
            if error.extensions and "code" in error.extensions:
                processed.append(error)
                continue
            code = ApiError.code if error.path else request_error_code(error)
            message = error.message if self.suggestions else _SUGGESTION.sub("", error.message)
            processed.append(
                GraphQLError(
                    message=message,
                    nodes=error.nodes,
                    source=error.source,
                    positions=error.positions,
                    path=error.path,
                    original_error=error.original_error,
                    extensions={**(error.extensions or {}), "code": code},
                )
            )
        return processed
