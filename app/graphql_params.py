"""Reading a GraphQL-over-HTTP request: media types, body size, and the request parameters.

- POST with `application/json`; GET for queries only (the endpoint refuses mutations).
- The `query` text may be left out when `extensions.persistedQuery` names it by hash.
- Bodies over the configured size get 413 before they are read in full.
- The response media type: `application/graphql-response+json` when the client accepts it,
  else `application/json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

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
    # None only with a persisted query's hash in `extensions` (app.persisted_queries).
    query: str | None
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


def decode_json(raw: bytes | str) -> Any:
    """Parse JSON with orjson; what it refuses gets a second reading by the standard library,
    which accepts all the JSON grammar does (e.g. escaped lone surrogates, which then meet
    the input validation of the field they were sent for, with a typed error)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


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
    extensions = _object_or_none(raw.get("extensions"), "extensions")
    hashed = query is None and extensions is not None and "persistedQuery" in extensions
    if not hashed and (not isinstance(query, str) or not query.strip()):
        raise HttpError(400, "The request must have a `query` string.")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HttpError(400, "`operationName` must be a string or null.")
    return GraphQLParams(
        query=query,
        variables=_object_or_none(raw.get("variables"), "variables"),
        operation_name=operation_name,
        extensions=extensions,
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
