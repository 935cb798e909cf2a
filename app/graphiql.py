"""The GraphiQL page, served entirely from this server.

GraphiQL's usual HTML page loads React, ReactDOM and GraphiQL from a public CDN and starts
them with an inline ``<script>``. Neither works here: the API may run on machines with no
network access, and the page is sent with a strict Content-Security-Policy (``script-src
'self'``, ``connect-src 'self'``, ...) that blocks both other hosts and inline scripts.

So everything is self-hosted and served by :data:`static_mount` under ``/static``:

* ``app/static/graphiql/`` -- the vendored, unmodified GraphiQL 3 UMD bundle and React 18
  UMD builds from the npm registry, with their licenses; its ``README.md`` lists the exact
  versions and ``refresh.sh`` re-downloads them.
* ``app/static/catalog/graphiql.js`` / ``graphiql.css`` -- our own start-up script and page
  styles. The script reads the GraphQL endpoint from the ``data-endpoint`` attribute of the
  ``#graphiql`` element, so the HTML needs no inline script. Subscriptions go over a
  WebSocket to the same endpoint with the vendored ``graphql-ws`` client
  (``connect-src 'self'`` covers ``ws:``/``wss:`` of the page's own host).

The page makes no request to any other host: fonts are ``data:`` URLs inside the GraphiQL
stylesheet, and queries (and subscriptions) go to the same-origin endpoint.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = [
    "GRAPHIQL_CSP",
    "STATIC_DIR",
    "graphiql_html",
    "graphiql_response",
    "static_mount",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""``app/static``: served under ``/static`` by :data:`static_mount`."""

_STATIC_URL = "/static"

GRAPHIQL_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # GraphiQL (CodeMirror, Radix UI, framer-motion) sets inline style attributes and
        # injects <style> elements at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        # The Roboto and Fira Code fonts are data: URLs inside graphiql.min.css.
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""The Content-Security-Policy of the GraphiQL page."""

_SECURITY_HEADERS = {
    "Content-Security-Policy": GRAPHIQL_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Catalog API · GraphiQL</title>
    <link rel="stylesheet" href="{static}/graphiql/graphiql.min.css">
    <link rel="stylesheet" href="{static}/catalog/graphiql.css">
  </head>
  <body>
    <div id="graphiql" data-endpoint="{endpoint}">
      <p class="catalog-graphiql-message">Loading GraphiQL…</p>
    </div>
    <noscript>
      <p class="catalog-graphiql-message">GraphiQL needs JavaScript.</p>
    </noscript>
    <script src="{static}/graphiql/react.production.min.js"></script>
    <script src="{static}/graphiql/react-dom.production.min.js"></script>
    <script src="{static}/graphiql/graphiql.min.js"></script>
    <script src="{static}/graphiql/graphql-ws.min.js"></script>
    <script src="{static}/catalog/graphiql.js"></script>
  </body>
</html>
"""


def graphiql_html(endpoint: str = "/graphql") -> str:
    """The GraphiQL page's HTML, sending queries to ``endpoint``.

    ``endpoint`` must be a path on this server (``connect-src 'self'`` allows nothing else).
    """
    if not endpoint.startswith("/") or endpoint.startswith("//"):
        raise ValueError(f"endpoint must be a path on this server, got {endpoint!r}")
    return _PAGE.format(static=_STATIC_URL, endpoint=html.escape(endpoint, quote=True))


def graphiql_response(endpoint: str = "/graphql") -> HTMLResponse:
    """The GraphiQL page with its Content-Security-Policy and other security headers."""
    return HTMLResponse(graphiql_html(endpoint), headers=_SECURITY_HEADERS)


class _StaticFiles(StaticFiles):
    """:class:`StaticFiles` that also sends ``X-Content-Type-Options: nosniff``."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


static_mount = Mount("/static", app=_StaticFiles(directory=STATIC_DIR), name="static")
"""Serves ``app/static`` (GraphiQL's assets among them) under ``/static``."""
