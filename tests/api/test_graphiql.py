"""The self-hosted GraphiQL page: strict CSP, only local assets, no inline script."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.graphiql import GRAPHIQL_CSP, STATIC_DIR, graphiql_html, graphiql_response, static_mount

JS_TYPES = {"text/javascript", "application/javascript"}
CSS_TYPES = {"text/css"}


class _Assets(HTMLParser):
    """Collects <script> and <link> tags, and whether any <script> has inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.links: list[dict[str, str | None]] = []
        self.inline_code: list[str] = []
        self.root: dict[str, str | None] | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes.get("src"))
            self._in_script = True
        elif tag == "link":
            self.links.append(attributes)
        elif tag == "div" and attributes.get("id") == "graphiql":
            self.root = attributes

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_code.append(data)


async def _graphql(request: Request) -> Response:
    if request.method == "GET":
        return graphiql_response()
    return JSONResponse({"data": {"__typename": "Query"}})


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[Route("/graphql", _graphql, methods=["GET", "POST"]), static_mount])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="module")
async def page(client: httpx.AsyncClient) -> _Assets:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    parser = _Assets()
    parser.feed(response.text)
    parser.close()
    return parser


async def test_page_is_served_with_strict_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert csp == GRAPHIQL_CSP
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_no_inline_script_and_no_remote_urls(
    client: httpx.AsyncClient, page: _Assets
) -> None:
    text = (await client.get("/graphql")).text

    assert page.inline_code == []
    assert all(src for src in page.scripts), "every <script> must have a src"
    assert not re.search(r"https?://", text, re.IGNORECASE)
    assert "//cdn" not in text
    # No inline event handlers or javascript: URLs either.
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE)
    assert "javascript:" not in text.lower()


async def test_scripts_are_local_and_served(client: httpx.AsyncClient, page: _Assets) -> None:
    assert page.scripts == [
        "/static/graphiql/react.production.min.js",
        "/static/graphiql/react-dom.production.min.js",
        "/static/graphiql/graphiql.min.js",
        "/static/graphiql/graphql-ws.min.js",
        "/static/catalog/graphiql.js",
    ]
    for src in page.scripts:
        assert src is not None
        response = await client.get(src)
        assert response.status_code == 200, src
        assert response.headers["content-type"].split(";")[0] in JS_TYPES, src
        assert response.headers["x-content-type-options"] == "nosniff", src
        assert len(response.content) > 0, src


async def test_stylesheets_are_local_and_served(client: httpx.AsyncClient, page: _Assets) -> None:
    hrefs = [link.get("href") for link in page.links]
    assert hrefs == ["/static/graphiql/graphiql.min.css", "/static/catalog/graphiql.css"]
    for href in hrefs:
        assert href is not None
        assert href.startswith("/static/"), href
        response = await client.get(href)
        assert response.status_code == 200, href
        assert response.headers["content-type"].split(";")[0] in CSS_TYPES, href


def test_endpoint_comes_from_data_attribute(page: _Assets) -> None:
    assert page.root is not None
    assert page.root.get("data-endpoint") == "/graphql"


def test_custom_endpoint_is_escaped() -> None:
    parser = _Assets()
    parser.feed(graphiql_html('/api/graphql?x="1"&y=<2>'))
    assert parser.root is not None
    assert parser.root.get("data-endpoint") == '/api/graphql?x="1"&y=<2>'


@pytest.mark.parametrize("endpoint", ["https://example.com/graphql", "//evil/graphql", "graphql"])
def test_endpoint_must_be_a_local_path(endpoint: str) -> None:
    with pytest.raises(ValueError, match="endpoint must be a path"):
        graphiql_response(endpoint)


def test_vendored_files_and_licenses_are_present() -> None:
    vendored = STATIC_DIR / "graphiql"
    for name in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "LICENSE.graphiql",
        "LICENSE.react",
        "LICENSE.react-dom",
        "graphql-ws.min.js",
        "LICENSE.graphql-ws",
        "README.md",
    ):
        assert (vendored / name).is_file(), name
    total = sum(p.stat().st_size for p in vendored.iterdir() if p.is_file())
    assert total < 8 * 1024 * 1024


async def test_graphql_post_still_reaches_the_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}
