"""Connection upkeep (db/session.py): no round trips beside a request's own statements while
connections are in steady use, one `;` for a connection idle a while, recovery from backends
terminated under the pool, and no connections opened and closed under a steady load."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Settings
from db.session import async_url, create_engine, create_reader_factory, is_upkeep
from resolvers.context import Services
from tests.support.catalog import build_catalog
from tests.support.graphql import GraphQLClient

LISTING = """{ products(first: 5, sort: {field: CREATED_AT, direction: DESC}) {
    totalCount edges { node { id name category { name parent { name } } rating { average }
    reviews(first: 2) { edges { node { title author { name } } } } } } } }"""


class UpkeepLog:
    """The upkeep statements the driver sends (transaction control, pings, resets), as
    asyncpg's query loggers see them. Prepared data statements are not logged, nor counted
    here asyncpg's type introspection (once per connection and type)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.connects = 0
        self.closes = 0

    def attach(self, engine: AsyncEngine) -> None:
        pool = engine.sync_engine.pool

        def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            if not record.info.get("upkeep_log"):
                record.info["upkeep_log"] = True
                proxy.driver_connection.add_query_logger(self.record)

        def on_connect(dbapi_connection: Any, record: Any) -> None:
            self.connects += 1

        def on_close(dbapi_connection: Any, record: Any) -> None:
            self.closes += 1

        self._listeners: list[tuple[str, Callable[..., None]]] = [
            ("checkout", on_checkout),
            ("connect", on_connect),
            ("close", on_close),
        ]
        for name, listener in self._listeners:
            event.listen(pool, name, listener)
        self._pool = pool

    def detach(self) -> None:
        for name, listener in self._listeners:
            event.remove(self._pool, name, listener)

    def record(self, logged: Any) -> None:
        if is_upkeep(logged.query):
            self.statements.append(logged.query)


@pytest.fixture
def upkeep(engine: AsyncEngine) -> Iterator[UpkeepLog]:
    log = UpkeepLog()
    log.attach(engine)
    yield log
    log.detach()


async def terminate_app_backends(settings: Settings) -> int:
    assert settings.database_url
    admin = create_async_engine(
        async_url(settings.database_url),
        connect_args={"server_settings": {"application_name": "catalog-test-admin"}},
    )
    try:
        async with admin.connect() as connection:
            result = await connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'catalog-api' AND datname = current_database()"
                )
            )
            return int(result.scalar_one())
    finally:
        await admin.dispose()


async def test_a_request_in_steady_use_sends_no_upkeep_statement(
    gql: GraphQLClient, services: Services, upkeep: UpkeepLog
) -> None:
    await build_catalog(services, products=6)
    await gql.data(LISTING)  # connections opened and in the pool
    for _ in range(3):
        upkeep.statements.clear()
        data = await gql.data(LISTING)
        assert data["products"]["totalCount"] > 0


async def test_requests_survive_terminated_backends(
    gql: GraphQLClient, services: Services, settings: Settings
) -> None:
    await build_catalog(services, products=6)
    # Several connections in the pool: concurrent requests each take their own.
    await asyncio.gather(*(gql.data(LISTING) for _ in range(4)))
    assert await terminate_app_backends(settings) > 0
    await asyncio.sleep(0.2)  # the driver reads the backends' goodbye
    for _ in range(3):
        data = await gql.data(LISTING)
        assert data["products"]["totalCount"] == 5


async def test_an_idle_connection_is_pinged_once_and_replaced_when_dead(
    settings: Settings,
) -> None:
    assert settings.database_url
    engine = create_engine(settings.database_url, pool_size=1, ping_after_idle_seconds=0)
    log = UpkeepLog()
    log.attach(engine)
    readers = create_reader_factory(engine)
    try:
        async with readers() as session:
            await session.execute(text("SELECT 1"))
        assert log.statements == []  # a new connection is not pinged
        async with readers() as session:
            await session.execute(text("SELECT 1"))
        assert log.statements == [";"]  # one statement, no BEGIN/ROLLBACK around it
        await terminate_app_backends(settings)
        await asyncio.sleep(0.2)
        async with readers() as session:
            assert (await session.execute(text("SELECT 2"))).scalar_one() == 2
        assert log.connects == 2
    finally:
        log.detach()
        await engine.dispose()


async def test_a_steady_load_opens_no_new_connections(
    gql: GraphQLClient,
    services: Services,
    settings: Settings,
    upkeep: UpkeepLog,
) -> None:
    await build_catalog(services, products=6)

    async def burst() -> None:
        await asyncio.gather(*(gql.data(LISTING) for _ in range(12)))

    await burst()
    # Start counting here: the catalog's writes, and connections left dead by other tests.
    upkeep.statements.clear()
    upkeep.connects = upkeep.closes = 0
    for _ in range(5):
        await burst()
    # Opened as the load needed them and kept: never more than the pool's size, none closed
    # on return (overflow connections would be opened again on every burst).
    assert upkeep.connects <= settings.db_pool_size
    assert upkeep.closes == 0
