"""How a compiled plan runs (resolvers/compiler, `_run`): asyncpg's own call on a pooled
connection, unless statements are observed (then through SQLAlchemy, so counters see it); a
connection whose statement failed is dropped, not handed to the next request."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from resolvers.compiler import _observed, _run
from resolvers.context import Services

SQL = "SELECT $1::text || pg_backend_pid()::text"


def readers_of(services: Services) -> Any:
    return services.readers.kw["bind"].sync_engine


async def test_observed_or_not_the_answer_is_the_same(
    services: Services, engine: AsyncEngine
) -> None:
    readers = readers_of(services)
    assert not _observed(readers)
    plain = await greenlet_spawn(_run, readers, SQL, ("pid ",))
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        assert _observed(readers)
        counted = await greenlet_spawn(_run, readers, SQL, ("pid ",))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert seen == [SQL]
    assert plain.startswith("pid ") and counted.startswith("pid ")


async def test_a_failed_statement_drops_its_connection(services: Services) -> None:
    readers = readers_of(services)
    before = await greenlet_spawn(_run, readers, SQL, ("",))
    with pytest.raises(Exception, match="division by zero"):
        await greenlet_spawn(_run, readers, "SELECT (1 / 0)::text", ())
    # The pool hands out its most recently returned connection first (LIFO): not that one.
    after = await greenlet_spawn(_run, readers, SQL, ("",))
    assert after != before
    assert await greenlet_spawn(_run, readers, SQL, ("",)) == after
