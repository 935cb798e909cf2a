"""CORS: which pages on other origins may call the API from a browser (CORS_ORIGINS).

Starlette's CORSMiddleware, with what a GraphQL API behind CDNs and browsers needs on top:
- a preflight from an allowed origin is answered 204 with the methods and headers the
  frontends' clients send (Apollo Client, urql, GraphiQL); one from any other origin gets no
  `Access-Control-*` header at all, so the browser refuses it and nothing hints otherwise;
- no credentials mode: tokens travel in the Authorization header, never in cookies, so pages
  of an allowed origin cannot make the browser send anything it would not send anyway;
- `Vary: Origin` on every response (with or without an Origin header), so a shared cache
  never serves one origin's answer, or an answer without CORS headers, to another;
- origins may name any port with `:*` (`http://localhost:*`, the development default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept",
    "X-Request-ID",
    # CSRF-prevention headers (GraphQL-over-HTTP, Apollo): they force a preflight.
    "GraphQL-Require-Preflight",
    "Apollo-Require-Preflight",
    "X-Apollo-Operation-Name",
    # Apollo Client's client awareness.
    "ApolloGraphQL-Client-Name",
    "ApolloGraphQL-Client-Version",
)
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")
MAX_AGE_SECONDS = 600


def origin_pattern(origins: Iterable[str]) -> str | None:
    """One regular expression for the configured origins; `:*` stands for any port."""
    alternatives = []
    for origin in origins:
        if origin.endswith(":*"):
            alternatives.append(re.escape(origin[:-2]) + r"(:\d{1,5})?")
        else:
            alternatives.append(re.escape(origin))
    return "|".join(alternatives) or None


def origin_allowed(origins: Iterable[str], origin: str) -> bool:
    """Whether a page of `origin` may call the API (the WebSocket handshake's check)."""
    origins = tuple(origins)
    if "*" in origins:
        return True
    pattern = origin_pattern(origins)
    return pattern is not None and re.fullmatch(pattern, origin) is not None


def _add_vary_origin(headers: MutableHeaders) -> None:
    values = headers.getlist("vary")
    present = {part.strip().lower() for value in values for part in value.split(",")}
    if "origin" not in present and "*" not in present:
        headers.add_vary_header("Origin")


class Cors(CORSMiddleware):
    """CORS for the configured origins (exact, `*` for any, or with `:*` for any port)."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        origins = tuple(origins)
        allow_all = "*" in origins
        super().__init__(
            app,
            allow_origins=["*"] if allow_all else [],
            allow_origin_regex=None if allow_all else origin_pattern(origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=False,
            expose_headers=EXPOSED_HEADERS,
            max_age=MAX_AGE_SECONDS,
        )
        self.enabled = bool(origins)  # no origin configured: no page may call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        if origin is not None and preflight:
            await self.preflight_response(request_headers=headers)(scope, receive, send)
            return
        if origin is not None and self.enabled and self.is_allowed_origin(origin):
            await self.simple_response(scope, receive, send, request_headers=headers)
            return

        # No Origin, or one not allowed: the response as it is, with Vary: Origin only.
        async def send_varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_vary_origin(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_varying)

    def preflight_response(self, request_headers: Headers) -> Response:
        origin = request_headers["origin"]
        if not (self.enabled and self.is_allowed_origin(origin)):
            # No Access-Control-* header: the browser reports the origin is not allowed.
            return PlainTextResponse(
                "This origin may not call the API.", status_code=403, headers={"Vary": "Origin"}
            )
        headers = dict(self.preflight_headers)
        headers["Access-Control-Allow-Origin"] = "*" if self.allow_all_origins else origin
        # Whatever was asked for, the answer lists what is allowed: the browser compares and
        # names the method or header that is not (clearer than a bare refusal from here).
        return Response(status_code=204, headers=headers)
