"""Engine and session factory. Query helpers never commit: the caller owns the transaction."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


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
    url: str, *, pool_size: int = 10, statement_timeout_ms: int = 0, echo: bool = False
) -> AsyncEngine:
    """An engine; `statement_timeout_ms` > 0 makes PostgreSQL cancel any longer statement, so
    no request can hold a connection and a core for long (0: the server's own setting)."""
    server_settings = {"application_name": "catalog-api"}
    if statement_timeout_ms > 0:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": server_settings},
        echo=echo,
    )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_reader_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for single-statement reads: autocommit, so no BEGIN and no ROLLBACK round
    trips around each query. Never write through them: nothing would be atomic."""
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(autocommit, expire_on_commit=False, autoflush=False)
