"""Apps of a test's own: the session's app with some settings changed, and a client of it; and
`catalog serve` processes on the suite's PostgreSQL and Redis."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from bench.servers import Server, free_port
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


def server_env(settings: Settings, directory: Path, **overrides: str) -> dict[str, str]:
    assert settings.secret_key is not None and settings.database_url and settings.redis_url
    return {
        **os.environ,
        "ENVIRONMENT": "development",
        "SECRET_KEY": settings.secret_key.get_secret_value(),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "DATA_DIR": str(directory),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT": "false",
        **overrides,
    }


@contextmanager
def catalog_servers(
    names: list[str], env: dict[str, str], directory: Path
) -> Iterator[list[Server]]:
    """`catalog serve` processes (one uvicorn worker each) with `env`, stopped afterwards."""
    catalog = Path(sys.executable).with_name("catalog")
    servers = []
    for name in names:
        port = free_port()
        servers.append(
            Server(
                name,
                [str(catalog), "serve", "--port", str(port)],
                port=port,
                env=env,
                log_dir=directory,
                cwd=directory,  # no developer's .env
            )
        )
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
