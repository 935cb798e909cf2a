"""CORS: pages of allowed origins may call the API from a browser; others get no CORS header.

The suite's app runs in development: its origins are http://localhost and http://127.0.0.1 on
any port. Apps with CORS_ORIGINS set, or in production, are built here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.main import create_app
from app.settings import Settings
from tests.support.graphql import GRAPHQL_RESPONSE, without_cost

ALLOWED = "http://localhost:5173"
JSON = "application/json"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type",
}
# What Apollo Client, urql and GraphiQL send beside the body.
CLIENT_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "graphql-require-preflight",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
)

AppClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


@pytest.fixture
def app_with(settings: Settings, client: httpx.AsyncClient) -> AppClient:
    """An app of its own, with settings overridden (depends on `client`: empty tables)."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(settings.model_copy(update=overrides))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield http

    return open_client


async def test_preflight_from_an_allowed_origin(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/graphql",
        headers={
            "origin": ALLOWED,
            "access-control-request-method": "POST",
            "access-control-request-headers": ",".join(CLIENT_HEADERS),
        },
    )

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert listed(response.headers["access-control-allow-methods"]) == {"get", "post"}
    assert set(CLIENT_HEADERS) <= listed(response.headers["access-control-allow-headers"])
    assert int(response.headers["access-control-max-age"]) >= 600
    assert "origin" in listed(response.headers["vary"])
    # No credentials mode: tokens travel in headers, cookies are never invited.
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost.evil.example", "http://127.0.0.1.nip.io:8000"],
)
async def test_preflight_from_another_origin_gets_no_cors_headers(
    client: httpx.AsyncClient, origin: str
) -> None:
    response = await client.options("/graphql", headers={"origin": origin, **PREFLIGHT})

    assert response.status_code == 403
    assert cors_headers(response) == {}
    assert "origin" in listed(response.headers["vary"])


async def test_request_from_an_allowed_origin(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"origin": "http://127.0.0.1:3000", "accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    assert listed(response.headers["access-control-expose-headers"]) == {
        "x-request-id",
        "retry-after",
    }
    assert "access-control-allow-credentials" not in response.headers
    assert "origin" in listed(response.headers["vary"])
    assert response.headers["x-request-id"]


async def test_request_from_another_origin_gets_no_cors_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://evil.example"}
    )

    # The server answers (a browser then hides the answer from the page): no CORS header.
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert "origin" in listed(response.headers["vary"])


async def test_vary_origin_without_an_origin(client: httpx.AsyncClient) -> None:
    # A shared cache must not serve this answer (no CORS headers) to a browser's request.
    response = await client.get("/graphql", params={"query": "{ __typename }"})

    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert "origin" in listed(response.headers["vary"])


async def test_errors_carry_cors_headers_too(client: httpx.AsyncClient) -> None:
    # A page must be able to read why its request failed.
    response = await client.post(
        "/graphql", content=b"{not json", headers={"origin": ALLOWED, "content-type": JSON}
    )

    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == ALLOWED


async def test_configured_origins_replace_the_development_ones(app_with: AppClient) -> None:
    shop = "https://shop.example.com"
    async with app_with(cors_origins=[shop, "https://admin.example.com:*"]) as http:
        allowed = await http.options("/graphql", headers={"origin": shop, **PREFLIGHT})
        any_port = await http.options(
            "/graphql", headers={"origin": "https://admin.example.com:8443", **PREFLIGHT}
        )
        other_scheme = await http.options(
            "/graphql", headers={"origin": "http://shop.example.com", **PREFLIGHT}
        )
        local = await http.options("/graphql", headers={"origin": ALLOWED, **PREFLIGHT})

    assert allowed.status_code == any_port.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == shop
    assert any_port.headers["access-control-allow-origin"] == "https://admin.example.com:8443"
    assert other_scheme.status_code == local.status_code == 403
    assert cors_headers(other_scheme) == cors_headers(local) == {}


async def test_production_allows_no_origin_by_default(
    settings: Settings, app_with: AppClient
) -> None:
    production = Settings(
        environment="production",
        secret_key=settings.secret_key,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        mail_transport="outbox",
        _env_file=None,
    )
    assert production.allowed_cors_origins == ()
    async with app_with(**production.model_dump(exclude_unset=True)) as http:
        preflight = await http.options("/graphql", headers={"origin": ALLOWED, **PREFLIGHT})
        request = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED}
        )

    assert preflight.status_code == 403
    assert cors_headers(preflight) == cors_headers(request) == {}
    assert without_cost(request.json()) == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "origin", ["https://shop.example.com/", "shop.example.com", "https://*.example.com", "null"]
)
def test_origins_that_are_not_origins_are_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(cors_origins=[origin], _env_file=None)
