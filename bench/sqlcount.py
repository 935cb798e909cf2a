"""SQL statements per request, counted in-process.

The app is built with `create_app` on settings that point at the bench database, its lifespan
entered, and a `before_cursor_execute` listener attached to its engine. Each query is sent once
to warm up (the dialect's first-connect statements, loaders' caches per process...) and then
once more, counted, through httpx's ASGI transport: no network, the same code path as a real
request. Transaction control (BEGIN/COMMIT/ROLLBACK) and pool pings are not cursor executions:
they are counted from asyncpg's query loggers (`db.session.is_upkeep`) and listed as
`/* upkeep */ …`, so the number is every statement a request sends.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.queries import BenchQuery, request_body

UPKEEP_MARK = "/* upkeep */ "

HEADERS = {"content-type": "application/json", "accept": "application/graphql-response+json"}


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        # before_cursor_execute(conn, cursor, statement, parameters, context, executemany)
        self.count += 1
        self.statements.append(str(args[2]))


async def count_statements(
    database_url: str,
    redis_url: str,
    queries: Sequence[BenchQuery],
    values: Mapping[str, Any],
    data_dir: Path,
) -> dict[str, list[str]]:
    """The SQL statements one request of each query executes, by query name."""
    from app.main import create_app
    from app.settings import Settings
    from db.session import is_upkeep

    settings = Settings(
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        log_level="WARNING",
        mail_transport="outbox",
        _env_file=None,
    )
    app = create_app(settings)
    counted: dict[str, list[str]] = {}
    async with app.router.lifespan_context(app):
        engine = app.state.services.sessions.kw["bind"].sync_engine
        active: list[StatementCounter] = []

        def log_upkeep(logged: Any) -> None:
            if active and is_upkeep(logged.query):
                active[0].statements.append(UPKEEP_MARK + logged.query)
                active[0].count += 1

        def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            if not record.info.get("bench_upkeep_logger"):
                record.info["bench_upkeep_logger"] = True
                proxy.driver_connection.add_query_logger(log_upkeep)

        event.listen(engine.pool, "checkout", on_checkout)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for query in queries:
                body = json.dumps(request_body(query, values))
                await client.post("/graphql", content=body, headers=HEADERS)  # warm-up
                counter = StatementCounter()
                event.listen(engine, "before_cursor_execute", counter)
                active.append(counter)
                try:
                    response = await client.post("/graphql", content=body, headers=HEADERS)
                finally:
                    active.clear()
                    event.remove(engine, "before_cursor_execute", counter)
                payload = response.json() if response.content else {}
                if response.status_code != 200 or payload.get("errors"):
                    raise RuntimeError(
                        f"in-process request for {query.name!r} failed: "
                        f"{response.status_code} {response.text[:500]}"
                    )
                counted[query.name] = counter.statements
    return counted
