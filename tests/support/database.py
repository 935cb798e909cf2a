"""The database and Redis as tests see them: emptied between tests, statements counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import db.models  # noqa: F401  (every table, for truncation)
from db.base import Base
from tests.support.graphql import GraphQLClient


async def empty_state(engine: AsyncEngine, redis: Redis) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await redis.flushdb()


@dataclass
class StatementCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


async def count_for(
    gql: GraphQLClient, counter: StatementCounter, query: str, variables: dict[str, Any]
) -> tuple[int, Any]:
    """The statements one request of `query` runs, and its data."""
    counter.statements.clear()
    data = await gql.data(query, variables)
    return counter.count, data
