"""Batched reads for nested connections: the first N rows of many groups in one statement.

A page of 50 products asking for `reviews(first: 3)` must not run 50 queries. One LATERAL join
over the group ids runs an index-ordered, LIMITed subquery per group, inside a single statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, aliased

from db.session import SessionFactory
from resolvers.pagination import Counter, Page, PageArgs, SortKey, page_from_rows

T = TypeVar("T")


async def first_rows_per_group(
    sessions: SessionFactory,
    model: type[T],
    statement: Select[Any],
    group_column: InstrumentedAttribute[Any],
    keys: Sequence[SortKey[T]],
    group_ids: Sequence[int],
    limit: int,
) -> dict[int, list[T]]:
    """Up to `limit` rows of `statement` for each group id, in `keys` order."""
    if not group_ids or limit <= 0:
        return {group_id: [] for group_id in group_ids}
    # unnest of one array parameter: the SQL text is the same for any number of groups, so
    # both SQLAlchemy's compiled cache and asyncpg's prepared statements are reused.
    groups = (
        func.unnest(bindparam("group_ids", list(group_ids), type_=ARRAY(BigInteger)))
        .table_valued("group_id")
        .render_derived(name="groups")
    )
    order = [key.column.desc() if key.descending else key.column.asc() for key in keys]
    per_group = (
        statement.where(group_column == groups.c.group_id).order_by(*order).limit(limit).lateral()
    )
    entity = aliased(model, per_group)
    rows = await _execute(sessions, select(entity).select_from(groups).join(per_group, true()))
    by_group: dict[int, list[T]] = defaultdict(list)
    group_attr = group_column.key
    for row in rows:
        by_group[getattr(row, group_attr)].append(row)
    return {group_id: by_group.get(group_id, []) for group_id in group_ids}


async def _execute(sessions: SessionFactory, statement: Select[Any]) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(statement)).scalars().all())


async def counts_per_group(
    sessions: SessionFactory,
    statement: Select[Any],
    group_column: InstrumentedAttribute[Any] | ColumnElement[Any],
    group_ids: Sequence[int],
) -> dict[int, int]:
    """How many rows of `statement` each group id has (0 for none), in one GROUP BY."""
    if not group_ids:
        return {}
    counted = (
        statement.with_only_columns(group_column, func.count())
        .where(
            group_column == any_(bindparam("group_ids", list(group_ids), type_=ARRAY(BigInteger)))
        )
        .group_by(group_column)
        .order_by(None)
    )
    async with sessions() as session:
        found = {int(g): int(n) for g, n in (await session.execute(counted)).all()}
    return {group_id: found.get(group_id, 0) for group_id in group_ids}


def first_pages(
    rows_by_group: dict[int, list[T]],
    keys: Sequence[SortKey[T]],
    size: int,
    counter_for: Callable[[int], Counter],
) -> dict[int, Page[T]]:
    """Turn size + 1 rows per group into first pages (the extra row only says "there is more")."""
    args = PageArgs(first=size)
    return {
        group_id: page_from_rows(list(rows), keys, args, size, counter_for(group_id))
        for group_id, rows in rows_by_group.items()
    }
