"""GraphQL over HTTP, following the GraphQL-over-HTTP spec.

- POST with `application/json`; GET for queries only (a mutation over GET is 405).
- Responses in `application/graphql-response+json` when the client accepts it: a document that
  fails to parse or validate is then a 4xx with no `data` key. Older clients asking for
  `application/json` get 200 for every well-formed request, as the spec requires.
- Bodies over the configured size get 413 before any parsing.
- A browser's GET shows GraphiQL (when enabled).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.context import build_context
from app.graphiql import graphiql_response
from app.logs import request_id_of
from app.settings import Settings
from resolvers.context import Context, Services

logger = logging.getLogger("catalog.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class HttpError(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class GraphQLParams:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when we can serve none it accepts."""
    if not accept:
        return JSON
    ranges: list[tuple[float, str]] = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranges.append((quality, media.lower()))
    for _, media in sorted(ranges, key=lambda item: -item[0]):
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON, "application/*", "*/*"):
            return JSON
    return None


def wants_graphiql(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise HttpError(400, "The Content-Length header must be a number.")
    if declared is not None and int(declared) > limit:
        raise HttpError(413, f"The request body must be at most {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HttpError(413, f"The request body must be at most {limit} bytes.")
    return bytes(body)


def _object_or_none(value: Any, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise HttpError(400, f"`{name}` must be an object or null.")


def parse_params(raw: Any) -> GraphQLParams:
    if isinstance(raw, list):
        raise HttpError(400, "Batched requests are not supported; send one operation per request.")
    if not isinstance(raw, dict):
        raise HttpError(400, "The request body must be a JSON object.")
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise HttpError(400, "The request must have a `query` string.")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HttpError(400, "`operationName` must be a string or null.")
    return GraphQLParams(
        query=query,
        variables=_object_or_none(raw.get("variables"), "variables"),
        operation_name=operation_name,
        extensions=_object_or_none(raw.get("extensions"), "extensions"),
    )


def _json_param(request: Request, name: str) -> Any:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return decode_json(value)
    except (ValueError, RecursionError) as error:
        # RecursionError: JSON nested too deeply for the decoder.
        raise HttpError(400, f"`{name}` must be JSON.") from error


async def read_params(request: Request, limit: int) -> GraphQLParams:
    if request.method in ("GET", "HEAD"):
        if len(request.url.query) > limit:
            raise HttpError(414, "The query string is too long.")
        return parse_params(
            {
                "query": request.query_params.get("query"),
                "operationName": request.query_params.get("operationName"),
                "variables": _json_param(request, "variables"),
                "extensions": _json_param(request, "extensions"),
            }
        )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != JSON:
        raise HttpError(415, "Send the request as `Content-Type: application/json`.")
    body = await read_body(request, limit)
    try:
        raw = decode_json(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        # RecursionError: a body of deeply nested arrays/objects, which json cannot decode.
        raise HttpError(400, "The request body is not valid JSON.") from error
    return parse_params(raw)


def _format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    return formatted


def is_request_error(result: ExecutionResult) -> bool:
    """Whether the document failed before execution (parse, validation, variable coercion)."""
    return (
        result.data is None and bool(result.errors) and all(not e.path for e in result.errors or [])
    )


def decode_json(raw: bytes | str) -> Any:
    """Parse JSON with orjson; what it refuses gets a second reading by the standard library,
    which accepts all the JSON grammar does (e.g. escaped lone surrogates, which then meet
    the input validation of the field they were sent for, with a typed error)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def encode(payload: dict[str, Any]) -> bytes:
    # orjson: several times faster than json on a page of products, same output. It refuses
    # strings that are not valid Unicode (a lone surrogate a client sent, echoed in an error
    # message): those are escaped by the standard library instead.
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode()


def error_response(
    status: int, message: str, media: str, request_id: str, headers: dict[str, str] | None = None
) -> Response:
    code = "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR"
    payload = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(
        encode(payload),
        status_code=status,
        media_type=media,
        headers={"X-Request-ID": request_id, **(headers or {})},
    )


class GraphQLEndpoint:
    """The ASGI-facing handler of `/graphql` for HTTP requests."""

    def __init__(
        self,
        services: Services,
        settings: Settings,
        full: strawberry.Schema,
        public: strawberry.Schema,
    ) -> None:
        self.services = services
        self.settings = settings
        self.full = full
        self.public = public

    def schema_for(self, context: Context) -> strawberry.Schema:
        """Introspection and suggestions: always in development, for staff in production."""
        if not self.settings.is_production or context.viewer.is_staff:
            return self.full
        return self.public

    async def __call__(self, request: Request) -> Response:
        request_id = request_id_of(request)
        settings = self.settings
        if wants_graphiql(request):
            if settings.graphiql_enabled:
                return graphiql_response(request.url.path)
            return error_response(404, "GraphiQL is disabled on this server.", JSON, request_id)
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return error_response(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.", JSON, request_id)
        try:
            params = await read_params(request, settings.max_body_bytes)
        except HttpError as error:
            logger.info("rejected request %s: %s", request_id, error.message)
            return error_response(error.status, error.message, media, request_id, error.headers)

        context = await build_context(
            self.services,
            request_id=request_id,
            authorization=request.headers.get("authorization"),
            user_agent=request.headers.get("user-agent"),
            client_ip=request.client.host if request.client else None,
            operation_name=params.operation_name,
        )
        allowed = (
            {OperationType.QUERY}
            if request.method in ("GET", "HEAD")
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            result = await self.schema_for(context).execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError:
            return error_response(
                405,
                "Only queries can be sent with GET; send mutations with POST.",
                media,
                request_id,
                {"Allow": "POST"},
            )
        except (CannotGetOperationTypeError, MissingQueryError) as error:
            message = (
                error.as_http_error_reason()
                if isinstance(error, CannotGetOperationTypeError)
                else "The request must have a `query` string."
            )
            return error_response(400, message, media, request_id)
        return self.respond(result, media, request_id)

    def respond(self, result: ExecutionResult, media: str, request_id: str) -> Response:
        payload: dict[str, Any] = {}
        status = 200
        if is_request_error(result):
            # No `data` key: the operation never started.
            status = 400 if media == GRAPHQL_RESPONSE else 200
        else:
            payload["data"] = result.data
        if result.errors:
            payload["errors"] = [_format_error(error) for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        return Response(
            encode(payload),
            status_code=status,
            media_type=media,
            headers={"X-Request-ID": request_id},
        )
