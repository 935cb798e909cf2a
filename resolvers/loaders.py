"""Dataloaders, built fresh for every request (never shared: they cache per request).

Named `{entity}_by_{key}`. Each batch opens its own session from the factory: one
`AsyncSession` cannot serve the concurrent resolvers of a GraphQL request. Loaders whose answer
depends on who is asking read `viewer.user` when they run, so a bad token fails the fields that
need it, not the whole request.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BigInteger, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, load_only

from db.catalog import Category, Product
from db.orders import Order, OrderEvent, OrderLine
from db.reviews import Review
from db.session import SessionFactory
from db.users import User
from resolvers.batching import counts_per_group, first_pages, first_rows_per_group
from resolvers.dataloader import Loader
from resolvers.pagination import Page
from resolvers.rows import (
    CATEGORIES,
    CATEGORY_CHILDREN,
    CATEGORY_PRODUCTS,
    ORDERS,
    PRODUCT_REVIEWS,
    PRODUCTS,
    PROFILES,
    REVIEWS,
    USERS,
    Join,
    Rows,
    products_below,
)
from resolvers.viewer import Viewer

M = TypeVar("M", Category, User, Product, Review, Order)
C = TypeVar("C", OrderLine, OrderEvent)
GroupPage = tuple[int, int]  # (group id, page size)


def by_id_loader(sessions: SessionFactory, rows: Rows[M], viewer: Viewer) -> Loader[int, M | None]:
    """Rows by primary key; those the viewer may not see load as None, like missing ones."""
    model = rows.model

    async def load(ids: Sequence[int]) -> list[M | None]:
        # `= ANY(array)`: one SQL text for any number of ids (cached, prepared once).
        wanted = bindparam("ids", list(ids), type_=ARRAY(BigInteger))
        statement = select(model).where(model.id == any_(wanted))
        if rows.visible is not None:  # read the viewer only when the rule needs it
            statement = statement.where(rows.visible(viewer.user))
        if rows.columns:
            statement = statement.options(load_only(*rows.columns))
        async with sessions() as session:
            found = {row.id: row for row in (await session.execute(statement)).scalars()}
        return [found.get(key) for key in ids]

    return Loader(load, reads=rows)


async def prime_categories_with_ancestors(
    sessions: SessionFactory, loader: Loader[int, Category | None], ids: Sequence[int]
) -> None:
    """Load categories and all their ancestors in one statement (their ids are in `path`) and
    put them in `loader`'s cache: a page's `category { parent { … } }` then costs one query."""
    missing = [key for key in set(ids) if not loader.has(key)]
    if not missing:
        return
    wanted = bindparam("ids", missing, type_=ARRAY(BigInteger))
    ancestors = select(func.unnest(Category.path)).where(Category.id == any_(wanted))
    statement = select(Category).where(or_(Category.id == any_(wanted), Category.id.in_(ancestors)))
    async with sessions() as session:
        rows = list((await session.execute(statement)).scalars())
    for category in rows:
        loader.prime(category.id, category)
    for key in missing:  # ids that named no category load as None, as through the loader
        if not loader.has(key):
            loader.prime(key, None)


def first_page_loader(
    sessions: SessionFactory, join: Join, viewer: Viewer
) -> Loader[GroupPage, Page[Any]]:
    """First pages of a nested connection for many parents, one statement per page size: the
    join's rows the viewer may see, grouped by its target column, in its order."""
    rows = join.rows

    def statement() -> Any:
        if rows.visible is None:
            return select(rows.model)
        return select(rows.model).where(rows.visible(viewer.user))

    count = count_loader(sessions, statement, join.target_column).load

    async def load(requests: Sequence[GroupPage]) -> list[Page[Any]]:
        by_size: dict[int, list[int]] = defaultdict(list)
        for group_id, size in requests:
            by_size[size].append(group_id)
        pages: dict[GroupPage, Page[Any]] = {}
        for size, group_ids in by_size.items():
            found = await first_rows_per_group(
                sessions,
                rows.model,
                statement(),
                join.target_column,
                join.order,
                group_ids,
                size + 1,
            )
            for group_id, page in first_pages(found, join.order, size, _counter(count)).items():
                pages[(group_id, size)] = page
        return [pages[request] for request in requests]

    return Loader(load, reads=join)


def _counter(
    count: Callable[[int], Awaitable[int]],
) -> Callable[[int], Callable[[], Awaitable[int]]]:
    return lambda group_id: lambda: count(group_id)


def children_loader(
    sessions: SessionFactory, model: type[C], parent: InstrumentedAttribute[int], *order: Any
) -> Loader[int, list[C]]:
    """Every child row of each parent (an order's lines or events), in `order`."""

    async def load(parent_ids: Sequence[int]) -> list[list[C]]:
        wanted = bindparam("ids", list(parent_ids), type_=ARRAY(BigInteger))
        statement = select(model).where(parent == any_(wanted)).order_by(*order)
        grouped: dict[int, list[C]] = defaultdict(list)
        async with sessions() as session:
            for row in (await session.execute(statement)).scalars():
                grouped[getattr(row, parent.key)].append(row)
        return [grouped.get(key, []) for key in parent_ids]

    return Loader(load)


def count_loader(
    sessions: SessionFactory, statement: Callable[[], Any], group_column: Any
) -> Loader[int, int]:
    async def load(group_ids: Sequence[int]) -> list[int]:
        counts = await counts_per_group(sessions, statement(), group_column, list(group_ids))
        return [counts[group_id] for group_id in group_ids]

    return Loader(load)


def product_count_loader(sessions: SessionFactory, viewer: Viewer) -> Loader[int, int]:
    """Visible products in each category and its descendants (`products_below`)."""

    async def load(category_ids: Sequence[int]) -> list[int]:
        subtree = Category.__table__.alias("subtree")
        statement = products_below(subtree.c.id, viewer.user)
        counts = await counts_per_group(sessions, statement, subtree.c.id, list(category_ids))
        return [counts[category_id] for category_id in category_ids]

    return Loader(load, reads=products_below)


@dataclass(frozen=True)
class Loaders:
    user_by_id: Loader[int, User | None]
    profile_by_id: Loader[int, User | None]
    category_by_id: Loader[int, Category | None]
    product_by_id: Loader[int, Product | None]
    review_by_id: Loader[int, Review | None]
    order_by_id: Loader[int, Order | None]
    order_lines_by_order: Loader[int, list[OrderLine]]
    order_events_by_order: Loader[int, list[OrderEvent]]
    # Visible products in a category and everything below it.
    product_count_by_category: Loader[int, int]
    # First pages of nested connections, keyed by (parent id, page size).
    reviews_by_product: Loader[GroupPage, Page[Review]]
    products_by_category: Loader[GroupPage, Page[Product]]
    children_by_category: Loader[GroupPage, Page[Category]]

    def clear(self) -> None:
        """Forget everything loaded: after a write, later fields must see what was written."""
        for loader_field in dataclasses.fields(self):
            getattr(self, loader_field.name).clear_all()

    def cancel_running(self) -> None:
        """Stop every batch still loading (the request was stopped)."""
        for loader_field in dataclasses.fields(self):
            getattr(self, loader_field.name).cancel_running()


def create_loaders(sessions: SessionFactory, viewer: Viewer) -> Loaders:
    return Loaders(
        user_by_id=by_id_loader(sessions, USERS, viewer),
        profile_by_id=by_id_loader(sessions, PROFILES, viewer),
        category_by_id=by_id_loader(sessions, CATEGORIES, viewer),
        product_by_id=by_id_loader(sessions, PRODUCTS, viewer),
        review_by_id=by_id_loader(sessions, REVIEWS, viewer),
        order_by_id=by_id_loader(sessions, ORDERS, viewer),
        order_lines_by_order=children_loader(sessions, OrderLine, OrderLine.order_id, OrderLine.id),
        order_events_by_order=children_loader(
            sessions, OrderEvent, OrderEvent.order_id, OrderEvent.at, OrderEvent.id
        ),
        product_count_by_category=product_count_loader(sessions, viewer),
        reviews_by_product=first_page_loader(sessions, PRODUCT_REVIEWS, viewer),
        products_by_category=first_page_loader(sessions, CATEGORY_PRODUCTS, viewer),
        children_by_category=first_page_loader(sessions, CATEGORY_CHILDREN, viewer),
    )
