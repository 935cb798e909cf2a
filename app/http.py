"""GraphQL over HTTP, following the GraphQL-over-HTTP spec.

- POST with `application/json` (or a GraphQL multipart request carrying files: app/uploads.py);
  GET for queries only (a mutation over GET is 405).
- Responses in `application/graphql-response+json` when the client accepts it: a document that
  fails to parse or validate is then a 4xx with no `data` key. Older clients asking for
  `application/json` get 200 for every well-formed request, as the spec requires.
- Bodies over the configured size, and documents over the configured length, get 413 before
  any parsing. A response over the configured size is replaced by a RESPONSE_TOO_LARGE error.
- A browser's GET shows GraphiQL (when enabled).
- Persisted queries (a hash instead of the text, PERSISTED_QUERIES): app/persisted_queries.py.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.apq_store import AutomaticPersistedQueries
from app.compiled_plans import CompiledPlans, plan_key
from app.context import build_context
from app.graphiql import graphiql_response
from app.graphql_params import (
    GRAPHQL_RESPONSE,
    JSON,
    GraphQLParams,
    HttpError,
    negotiate,
    read_params,
    wants_graphiql,
)
from app.logs import request_id_of
from app.persisted_queries import PersistedQueries, PersistedQueryError
from app.settings import Settings
from app.trusted_documents import TrustedDocuments
from app.uploads import is_multipart, read_multipart
from resolvers.compiler import role_of
from resolvers.context import Context, Services
from resolvers.errors import DeadlineExceeded, ResponseTooLarge
from schema.root import Shared

logger = logging.getLogger("catalog.http")


def _format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    return formatted


def is_request_error(result: ExecutionResult) -> bool:
    """Whether the document failed before execution (parse, validation, variable coercion).
    An operation stopped at the deadline did run (a mutation may have written): `data: null`."""
    return (
        result.data is None
        and bool(result.errors)
        and all(not e.path and not isinstance(e, DeadlineExceeded) for e in result.errors or [])
    )


def encode(payload: dict[str, Any]) -> bytes:
    # orjson: several times faster than json on a page of products, same output. It refuses
    # strings that are not valid Unicode (a lone surrogate a client sent, echoed in an error
    # message): those are escaped by the standard library instead.
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode()


def check_document_length(query: str | None, limit: int) -> None:
    """Refuse a document over `limit` characters before anything parses it (413). A request
    naming its document by hash alone is checked when the document was first sent or
    registered."""
    if query is not None and len(query) > limit:
        raise HttpError(
            413, f"The GraphQL document is {len(query)} characters, over the limit of {limit}."
        )


def error_response(
    status: int,
    message: str,
    media: str,
    request_id: str,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> Response:
    code = code or ("BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")
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
        self.persisted = PersistedQueries(
            settings.persisted_queries,
            AutomaticPersistedQueries(
                services.redis,
                ttl_seconds=settings.apq_ttl_seconds,
                max_entries=settings.apq_max_entries,
            ),
            TrustedDocuments(services.readers),
        )
        # The fast path of compiled queries (app/compiled_plans.py); None when they are off.
        shared: Shared | None = getattr(full, "shared", None)
        self.plans = (
            CompiledPlans(
                max_cost=settings.max_query_cost,
                deadline_seconds=settings.execution_deadline_seconds,
                rate_limiter=shared.rate_limiter,
            )
            if shared is not None and shared.compiler is not None
            else None
        )

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
        form: FormData | None = None
        try:
            if is_multipart(request):
                params, form = await read_multipart(
                    request,
                    max_upload_bytes=settings.max_upload_bytes,
                    max_field_bytes=settings.max_body_bytes,
                )
            else:
                params = await read_params(request, settings.max_body_bytes)
            check_document_length(params.query, settings.max_document_length)
        except HttpError as error:
            if form is not None:
                await form.close()
            logger.info("rejected request %s: %s", request_id, error.message)
            return error_response(error.status, error.message, media, request_id, error.headers)
        try:
            return await self.run(request, params, media, request_id)
        finally:
            if form is not None:
                await form.close()

    async def run(
        self, request: Request, params: GraphQLParams, media: str, request_id: str
    ) -> Response:
        context = await build_context(
            self.services,
            request_id=request_id,
            authorization=request.headers.get("authorization"),
            user_agent=request.headers.get("user-agent"),
            client_ip=request.client.host if request.client else None,
            operation_name=params.operation_name,
        )
        sent = params
        try:
            params = await self.persisted.resolve(sent, staff=context.viewer.is_staff)
        except PersistedQueryError as refused:
            status = refused.status if refused.always_status or media == GRAPHQL_RESPONSE else 200
            return error_response(
                status, refused.message, media, request_id, refused.headers, refused.code
            )
        schema = self.schema_for(context)
        key = None
        if self.plans is not None:
            key = plan_key(schema, params, role_of(context.viewer))
            plan = self.plans.get(key) if key is not None else None
            if key is not None and plan is not None:
                fast = await self.plans.answer(schema, key, plan, context)
                if fast is not None:
                    await self.persisted.remember(sent, ran=not is_request_error(fast))
                    return self.respond(fast, media, request_id, context, cached_plan=True)
        allowed = (
            {OperationType.QUERY}
            if request.method in ("GET", "HEAD")
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            result = await schema.execute(
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
        await self.persisted.remember(sent, ran=not is_request_error(result))
        if key is not None and self.plans is not None:
            self.plans.remember(key, context, result)
        return self.respond(result, media, request_id, context)

    def respond(
        self,
        result: ExecutionResult,
        media: str,
        request_id: str,
        context: Context,
        *,
        cached_plan: bool = False,
    ) -> Response:
        payload: dict[str, Any] = {}
        status = 200
        headers = {"X-Request-ID": request_id}
        if is_request_error(result):
            # No `data` key: the operation never started.
            status = 400 if media == GRAPHQL_RESPONSE else 200
        else:
            payload["data"] = result.data
        if context.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(context.retry_after)))
            # Clients of the older application/json get 200 for every well-formed request.
            if media == GRAPHQL_RESPONSE:
                status = 429
        if result.errors:
            payload["errors"] = [_format_error(error) for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        # Which path answered (the compiler records its own; without it, the executor ran).
        answered_by = context.answered_by or (None if is_request_error(result) else "executor")
        if answered_by is not None:
            # cached_plan: the plan cache of the HTTP layer answered (app/compiled_plans.py).
            logger.debug(
                "request %s answered by the %s%s",
                request_id,
                answered_by,
                " (cached plan)" if cached_plan else "",
                extra={"answered_by": answered_by, "cached_plan": cached_plan},
            )
            if self.settings.answer_path_header_enabled:
                headers["x-catalog-path"] = answered_by
                if cached_plan:
                    headers["x-catalog-plan"] = "cached"
        body = encode(payload)
        if len(body) > self.settings.max_response_bytes and isinstance(
            payload.get("data"), orjson.Fragment
        ):
            # Compiled `data` is written compact, except JSONB values (`attributes`), which keep
            # PostgreSQL's spacing: the limit applies to the compact answer on both paths.
            body = orjson.dumps(orjson.loads(body))
        if len(body) > self.settings.max_response_bytes:
            body = self.too_large(payload, len(body), request_id)
        return Response(body, status_code=status, media_type=media, headers=headers)

    def too_large(self, payload: dict[str, Any], size: int, request_id: str) -> bytes:
        """The answer instead of a response over MAX_RESPONSE_BYTES: never a truncated body.
        The operation ran (a mutation may have written), so `data` is null."""
        limit = self.settings.max_response_bytes
        logger.warning(
            "request %s: response of %d bytes refused (limit %d)", request_id, size, limit
        )
        error = ResponseTooLarge(
            f"The response would be {size} bytes, over the limit of {limit}: ask for less."
        )
        refused = {"data": None, "errors": [_format_error(error)]}
        if "extensions" in payload:
            refused["extensions"] = payload["extensions"]
        return encode(refused)
