"""Apps of a test's own: the session's app with some settings changed, and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.support.graphql import GraphQLClient


@asynccontextmanager
async def running_app(settings: Settings, **overrides: Any) -> AsyncIterator[Starlette]:
    """A started app (its own services, same database and Redis) with `overrides` set."""
    application = create_app(settings.model_copy(update=overrides))
    async with application.router.lifespan_context(application):
        yield application


def client_of(
    application: Starlette, address: str = "203.0.113.50", token: str | None = None
) -> GraphQLClient:
    """A GraphQL client of `application`, calling from `address`."""
    transport = httpx.ASGITransport(app=application, client=(address, 50000))
    http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    return GraphQLClient(http, token)


@asynccontextmanager
async def app_client(settings: Settings, **overrides: Any) -> AsyncIterator[GraphQLClient]:
    """A client of a started app with `overrides` set (see `running_app`)."""
    async with running_app(settings, **overrides) as application:
        gql = client_of(application)
        async with gql.http:
            yield gql
