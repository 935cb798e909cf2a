"""Engine and session factory. Query helpers never commit: the caller owns the transaction."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from db.product_filters import TRIGRAM_THRESHOLD

SessionFactory = async_sessionmaker[AsyncSession]

# A pooled connection idle longer than this is pinged (one `;`) before it is handed out; a
# busier one is trusted: it was used moments ago, and a failure is still caught by SQLAlchemy's
# disconnect detection, which invalidates the pool's older connections.
PING_AFTER_IDLE_SECONDS = 5.0
_RETURNED_AT = "catalog_returned_at"

# What the driver sends besides a request's data statements: transaction control, pings,
# resets. (Data statements go through prepared statements, which asyncpg's query loggers do
# not see; these are the ones they do, minus asyncpg's type introspection.)
UPKEEP_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "DISCARD", "RESET", ";")


def is_upkeep(statement: str) -> bool:
    """Whether `statement`, as asyncpg's query loggers report it, is connection upkeep."""
    return statement.strip().upper().startswith(UPKEEP_PREFIXES)


def async_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` forms and pick the asyncpg driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in {"postgresql", "postgresql+psycopg2", "postgresql+psycopg"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL as libpq and asyncpg want it, without SQLAlchemy's `+driver` part."""
    parsed = make_url(async_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    statement_timeout_ms: int = 0,
    echo: bool = False,
    ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS,
) -> AsyncEngine:
    """An engine; `statement_timeout_ms` > 0 makes PostgreSQL cancel any longer statement, so
    no request can hold a connection and a core for long (0: the server's own setting).

    Up to `pool_size` connections are opened as needed and kept (no overflow: connections
    closed on return and reopened under the next burst cost a backend start each time)."""
    server_settings = {
        "application_name": "catalog-api",
        # The typo-tolerant search's `<%` must find every name above its threshold.
        "pg_trgm.word_similarity_threshold": str(TRIGRAM_THRESHOLD),
    }
    if statement_timeout_ms > 0:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        # The most recently returned connection first: under light load the same few stay warm
        # (no pings), the rest simply wait.
        pool_use_lifo=True,
        # No pre-ping on every checkout (BEGIN, `;`, ROLLBACK: three round trips per
        # checkout): `check_on_checkout` below decides when a connection needs one.
        pool_pre_ping=False,
        connect_args={"server_settings": server_settings},
        echo=echo,
    )
    install_checkout_check(engine, ping_after_idle_seconds)
    return engine


def install_checkout_check(engine: AsyncEngine, ping_after_idle_seconds: float) -> None:
    """Hand out only live connections, at no cost for those in steady use.

    A connection whose socket is already closed (the backend was terminated, the server
    restarted) is refused without a round trip; one idle longer than `ping_after_idle_seconds`
    is pinged with a single `;` outside any transaction. A refusal raises DisconnectionError,
    on which the pool discards the connection and checks out (or opens) another."""
    dialect = engine.sync_engine.dialect

    def on_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def on_checkout(
        dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        returned_at = record.info.pop(_RETURNED_AT, None)
        if returned_at is None:  # a connection just opened
            return
        driver = proxy.driver_connection
        if driver is not None and driver.is_closed():
            raise DisconnectionError("connection closed while in the pool")
        if time.monotonic() - returned_at < ping_after_idle_seconds:
            return
        # The asyncpg adapter pings inside BEGIN/ROLLBACK unless in autocommit mode: one
        # statement instead of three (the connection is reset on return, no transaction open).
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("ping failed") from error
        finally:
            dbapi_connection.autocommit = autocommit

    event.listen(engine.sync_engine.pool, "checkin", on_checkin)
    event.listen(engine.sync_engine.pool, "checkout", on_checkout)


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_reader_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for single-statement reads: autocommit, so no BEGIN and no ROLLBACK round
    trips around each query. Never write through them: nothing would be atomic."""
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(autocommit, expire_on_commit=False, autoflush=False)
