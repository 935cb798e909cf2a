"""Test fixtures: real PostgreSQL and Redis, the app driven over HTTP as a frontend would.

Without DATABASE_URL / REDIS_URL the suite starts its own embedded servers in a temporary
directory (never the dev data); with them, it creates a fresh database on that server and uses
that Redis database, which it flushes. Every test using `client` starts from empty tables and
Redis. Helpers the suites share live in `tests.support`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from app.worker import build_worker
from db.migrate import upgrade
from db.session import async_url
from resolvers.context import Services
from tests.support.database import StatementCounter, empty_state
from tests.support.graphql import REGISTER, STRONG_PASSWORD, Account, GraphQLClient, SignUp


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str


async def _admin(url: str, statement: str) -> None:
    admin = make_url(async_url(url)).set(database="postgres")
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


def _fresh_database_on(url: str) -> str:
    """A new empty database beside the one in `url` (for externally provided servers)."""
    name = f"catalog_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    return make_url(async_url(url)).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if database_url and redis_url:
        test_database = _fresh_database_on(database_url)
        try:
            yield Servers(test_database, redis_url)
        finally:
            _drop_database(test_database)
        return
    from app.devservices import fresh_database, start_dev_services, stop_dev_services

    # Servers of this run's own, never the dev data, and never shared with a concurrent run
    # (a server stops with the process that started it). Starting them takes about a second.
    data_dir = Path(tempfile.mkdtemp(prefix="catalog-test-"))
    try:
        services = start_dev_services(data_dir, database="catalog_test")
        yield Servers(fresh_database(services, "catalog_test"), services.redis_url)
    finally:
        stop_dev_services(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Alembic's env runs its own event loop: keep it off the test loop's thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, servers.database_url).result()
    return Settings(
        environment="development",
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_dir=tmp_path_factory.mktemp("data"),
        # Random, as production requires: suites build production apps with the same key.
        secret_key=secrets.token_urlsafe(48),
        # Suites send many requests from one address: tests of the limit use an app of their own.
        rate_limit=False,
        _env_file=None,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def services(app: Starlette) -> Services:
    result: Services = app.state.services
    return result


@pytest.fixture(scope="session")
def engine(services: Services) -> AsyncEngine:
    bound: AsyncEngine = services.sessions.kw["bind"]
    return bound


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    assert settings.redis_url
    client: Redis = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def client(
    app: Starlette, engine: AsyncEngine, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app; every test using it starts from empty tables and Redis."""
    await empty_state(engine, redis)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
def sign_up(gql: GraphQLClient, services: Services) -> SignUp:
    """Register an account through the API; `role` other than customer is set in the database."""

    async def create(
        email: str | None = None, *, role: str = "customer", password: str = STRONG_PASSWORD
    ) -> Account:
        email = email or f"user-{secrets.token_hex(3)}@example.com"
        data = await gql.data(
            REGISTER, {"input": {"email": email, "name": "Test User", "password": password}}
        )
        payload = data["register"]
        assert payload["errors"] == [], payload
        if role != "customer":
            async with services.sessions() as session:
                await session.execute(
                    text("UPDATE users SET role = :role WHERE lower(email) = lower(:email)"),
                    {"role": role, "email": email},
                )
                await session.commit()
        return Account(
            payload["user"]["id"], email, password, payload["accessToken"], payload["refreshToken"]
        )

    return create


@pytest.fixture
async def run_worker(settings: Settings) -> Callable[[], Awaitable[int]]:
    """Run the real arq worker over Redis until the queue is empty; returns jobs completed."""

    async def run() -> int:
        worker = build_worker(
            settings, burst=True, poll_delay=0.05, handle_signals=False, cron_jobs=[]
        )
        try:
            await worker.main()
            return int(worker.jobs_complete)
        finally:
            await worker.close()

    return run


@pytest.fixture
def count_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    """Counts the SQL statements the app's engine runs while the test body runs."""
    counter = StatementCounter()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", record)
