"""GraphQL subscriptions over WebSocket on `/graphql`: the graphql-transport-ws protocol (the
`graphql-ws` library's, which Apollo Client, urql and GraphiQL speak).

Strawberry's protocol handler (`BaseGraphQLTransportWSHandler`) runs the state machine; this
module adds what the HTTP side already enforces, so a WebSocket is no back door:

- The handshake: the `Origin` of a browser must be this server's own (GraphiQL) or one
  CORS_ORIGINS allows (cross-site WebSocket hijacking; refused with 403 before the upgrade);
  the subprotocol must be `graphql-transport-ws` (else close 4406); at most
  WS_MAX_CONNECTIONS per process (else close 1013, "try again later", which clients retry
  with backoff).
- Authentication from `connection_init`'s payload, `{"authorization": "Bearer …"}`, by the
  same code as the Authorization header (app/context.py `identify`). No payload or no
  authorization key: anonymous. A refused token: close 4403. Production's introspection
  rules follow the viewer, as over HTTP (staff get the full schema).
- The access token's expiry ends the connection with 4401 (its subscriptions with it): the
  client reconnects with a fresh token (graphql-ws: `connectionParams` as a function).
- Protocol codes: 4400 malformed message, 4401 subscribe before the acknowledgement, 4408 no
  `connection_init` within WS_INIT_TIMEOUT_SECONDS, 4409 a subscription id already in use,
  4429 a second `connection_init` or more than WS_MAX_SUBSCRIPTIONS at once, 1009 a message
  over WS_MAX_MESSAGE_BYTES.
- Documents meet the same checks as over HTTP: MAX_DOCUMENT_LENGTH and PERSISTED_QUERIES
  (an allowlist holds here too) here, then the schema's extensions (tokens, depth, aliases,
  directives, cost, rate limit, the document cache).
  Only subscriptions run here: queries and mutations go over HTTP.
- Keep-alive: a `ping` message every WS_KEEPALIVE_SECONDS (clients answer `pong`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncGenerator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from app.context import bearer_token, identify
from app.cors import origin_allowed
from app.graphql_params import GraphQLParams, HttpError
from app.persisted_queries import PersistedQueries, PersistedQueryError
from app.settings import Settings
from resolvers.context import Context, Services
from resolvers.users.tokens import InvalidAccessToken
from resolvers.viewer import ANONYMOUS, Viewer
from schema.root import CatalogSchema

logger = logging.getLogger("catalog.subscriptions")

PROTOCOL = "graphql-transport-ws"
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013
MAX_REASON_BYTES = 123


@dataclass(frozen=True)
class WsLimits:
    max_connections: int
    max_subscriptions: int
    max_message_bytes: int
    keepalive_seconds: float
    init_timeout_seconds: float
    max_document_length: int

    @classmethod
    def of(cls, settings: Settings) -> WsLimits:
        return cls(
            max_connections=settings.ws_max_connections,
            max_subscriptions=settings.ws_max_subscriptions,
            max_message_bytes=settings.ws_max_message_bytes,
            keepalive_seconds=settings.ws_keepalive_seconds,
            init_timeout_seconds=settings.ws_init_timeout_seconds,
            max_document_length=settings.max_document_length,
        )


class _Socket(AsyncWebSocketAdapter):
    """Strawberry's view of the socket: JSON text messages, each at most `max_bytes`."""

    def __init__(self, websocket: WebSocket, max_bytes: int) -> None:
        self.ws = websocket
        self.max_bytes = max_bytes

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                # Characters are 1 to 4 bytes: encode only when it could be over.
                if len(text) * 4 > self.max_bytes and len(text.encode()) > self.max_bytes:
                    await self.close(
                        MESSAGE_TOO_BIG, f"Messages are limited to {self.max_bytes} bytes"
                    )
                    return
                try:
                    yield orjson.loads(text)
                except orjson.JSONDecodeError as error:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from error
        except KeyError as error:  # a binary frame
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            return

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except (WebSocketDisconnect, RuntimeError) as error:
            raise WebSocketDisconnected from error

    async def close(self, code: int, reason: str) -> None:
        # A close frame's reason holds at most 123 bytes (RFC 6455); ids the client chose
        # appear in some reasons.
        reason = reason.encode()[:MAX_REASON_BYTES].decode(errors="ignore")
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with suppress(RuntimeError):
                await self.ws.close(code=code, reason=reason)


class _Connection(BaseGraphQLTransportWSHandler[Context, None]):
    """One client's connection: Strawberry's protocol handling with this API's rules."""

    def __init__(self, endpoint: SubscriptionEndpoint, websocket: WebSocket) -> None:
        limits = endpoint.limits
        self.endpoint = endpoint
        self.client_ip = websocket.client.host if websocket.client else None
        self.user_agent = websocket.headers.get("user-agent")
        self.viewer: Viewer = ANONYMOUS
        self.timers: list[asyncio.Task[None]] = []
        super().__init__(
            # Strawberry's handler asks its view only for `on_ws_connect`, which
            # handle_connection_init below replaces.
            view=cast(Any, endpoint),
            websocket=_Socket(websocket, limits.max_message_bytes),
            context=self._context(),
            root_value=None,
            schema=endpoint.schema_for(ANONYMOUS),
            connection_init_wait_timeout=timedelta(seconds=limits.init_timeout_seconds),
            max_subscriptions_per_connection=limits.max_subscriptions,
        )

    def _context(self, operation_name: str | None = None) -> Context:
        # One per operation: its own loaders (caches), request id and operation name.
        return Context(
            services=self.endpoint.services,
            request_id=secrets.token_hex(8),
            viewer=self.viewer,
            user_agent=self.user_agent[:512] if self.user_agent else None,
            client_ip=self.client_ip,
            operation_name=operation_name,
        )

    async def shutdown(self) -> None:
        for timer in self.timers:
            timer.cancel()
        await super().shutdown()

    async def handle_message(self, message: Message) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("A message must be an object with a `type`")
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_received:
            await self.websocket.close(4429, "Too many initialisation requests")
            return
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self.websocket.close(4400, "Invalid connection init payload")
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        self.connection_init_received = True
        authorization = next((v for k, v in payload.items() if k.lower() == "authorization"), None)
        if authorization is not None and not isinstance(authorization, str):
            await self.websocket.close(4400, "`authorization` must be a string")
            return
        viewer = await identify(self.endpoint.services, authorization)
        if viewer.auth_error is not None:
            await self.websocket.close(4403, f"Forbidden: {viewer.auth_error}")
            return
        self.viewer = viewer
        self.schema = self.endpoint.schema_for(viewer)
        self.context = self._context()
        if expires_at := self._token_expiry(authorization):
            self._background(self._end_at(expires_at))
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        self._background(self._keep_alive())

    def _token_expiry(self, authorization: str | None) -> datetime | None:
        token = bearer_token(authorization)
        if not token:
            return None
        try:
            return self.endpoint.services.signer.verify(token).expires_at
        except InvalidAccessToken:
            return datetime.now(UTC)  # expired between identify and here

    def _background(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        task.add_done_callback(self._task_done)
        self.timers.append(task)

    async def _end_at(self, expires_at: datetime) -> None:
        await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
        await self.websocket.close(4401, "The access token has expired: reconnect with a new one")

    async def _keep_alive(self) -> None:
        with suppress(WebSocketDisconnected):
            while True:
                await asyncio.sleep(self.endpoint.limits.keepalive_seconds)
                await self.send_message({"type": "ping"})

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            await self.websocket.close(4401, "Unauthorized")
            return
        payload = message.get("payload")
        operation_id = message.get("id")
        if (
            not isinstance(operation_id, str)
            or not isinstance(payload, dict)
            or not isinstance(payload.get("query") or "", str)
            or not isinstance(payload.get("extensions") or {}, dict)
            or not isinstance(payload.get("variables") or {}, dict)
            or not isinstance(payload.get("operationName") or "", str)
        ):
            await self.handle_invalid_message("Invalid subscribe message")
            return
        if operation_id in self.operations:
            await self.websocket.close(4409, f"Subscriber for {operation_id} already exists")
            return
        limit = self.endpoint.limits.max_subscriptions
        if len(self.operations) >= limit:
            await self.websocket.close(4429, f"Too many subscriptions (at most {limit} at once)")
            return
        sent = GraphQLParams(
            payload.get("query"),
            payload.get("variables"),
            payload.get("operationName"),
            payload.get("extensions"),
        )
        operation = Operation(
            self, operation_id, sent.query or "", sent.variables, sent.operation_name
        )
        self.operations[operation_id] = operation
        length_limit = self.endpoint.limits.max_document_length
        try:
            if sent.query is not None and len(sent.query) > length_limit:
                raise HttpError(
                    413,
                    f"The GraphQL document is {len(sent.query)} characters, over the limit "
                    f"of {length_limit}.",
                )
            # The same persisted-query rules as over HTTP (an allowlist holds here too).
            resolved = await self.endpoint.persisted.resolve(sent, staff=self.viewer.is_staff)
            if resolved.query is None:
                raise HttpError(400, "The subscribe message must have a `query` string.")
        except (HttpError, PersistedQueryError) as refused:
            code = refused.code if isinstance(refused, PersistedQueryError) else "BAD_REQUEST"
            error = GraphQLError(refused.message, extensions={"code": code})
            await operation.send_initial_errors([error])
            return
        operation.query = resolved.query
        operation.task = asyncio.create_task(self.run_operation(operation))
        operation.task.add_done_callback(self._task_done)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        context = self._context(operation.operation_name)
        schema = cast(CatalogSchema, self.schema)
        try:
            results = await schema.subscribe(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
            )
            async with aclosing(results):
                async for result in results:
                    result = schema.finish_errors(result, context)
                    if isinstance(result, PreExecutionError) or result.data is None:
                        await operation.send_initial_errors(result.errors or [])
                        return
                    await operation.send_next(result)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except WebSocketDisconnected:
            return
        except Exception as error:  # the log has it; the client gets a plain completion
            logger.exception("subscription %s failed", context.request_id, exc_info=error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})


def same_origin(origin: str, host: str | None) -> bool:
    """Whether a page of `origin` is served by this server (GraphiQL): its host and port are
    the handshake's Host. Such a page may connect whatever CORS_ORIGINS says."""
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


class SubscriptionEndpoint:
    """The ASGI-facing handler of WebSocket connections to `/graphql`."""

    def __init__(
        self,
        services: Services,
        settings: Settings,
        full: CatalogSchema,
        public: CatalogSchema,
        persisted: PersistedQueries,
    ) -> None:
        self.services = services
        self.persisted = persisted
        self.settings = settings
        self.full = full
        self.public = public
        self.limits = WsLimits.of(settings)
        self.origins = settings.allowed_cors_origins
        self.connections = 0

    def schema_for(self, viewer: Viewer) -> CatalogSchema:
        """Introspection and suggestions: always in development, for staff in production."""
        if not self.settings.is_production or viewer.is_staff:
            return self.full
        return self.public

    async def __call__(self, websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        if origin is not None and not (
            same_origin(origin, websocket.headers.get("host"))
            or origin_allowed(self.origins, origin)
        ):
            logger.info("WebSocket from origin %r refused", origin)
            await websocket.close(code=4403)  # before accepting: the handshake gets 403
            return
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.accept()
            await websocket.close(4406, f"Subprotocol not acceptable: use {PROTOCOL}")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        if self.connections >= self.limits.max_connections:
            await websocket.close(TRY_AGAIN_LATER, "Too many connections: try again later")
            return
        self.connections += 1
        try:
            await _Connection(self, websocket).handle()
        except Exception:  # an outage while authenticating, a bug: logged, never shown
            logger.exception("WebSocket connection failed")
            if websocket.application_state != WebSocketState.DISCONNECTED:
                with suppress(RuntimeError):
                    await websocket.close(1011, "Internal server error")
        finally:
            self.connections -= 1
