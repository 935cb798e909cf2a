"""Reading orders: the caller's (`myOrders`, `order`), every order for staff, low stock.

An order is visible to its customer and to staff (resolvers.visibility.visible_orders); to
anyone else an order id is as unknown as one that never existed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from db.catalog import Product, ProductStatus
from db.catalog_rules import MAX_STOCK
from db.orders import Order, OrderStatus
from db.users import User
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.ids import key_of
from resolvers.orderings import LEAST_STOCK, NEWEST_ORDERS
from resolvers.pagination import Page, PageArgs, SortKey, datetime_key, paginate


class OrderSortField(enum.Enum):
    PLACED_AT = "PLACED_AT"
    TOTAL = "TOTAL"
    NUMBER = "NUMBER"


@dataclass(frozen=True)
class OrderFilterData:
    status: OrderStatus | None = None
    customer_email: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None


def order_keys(field: OrderSortField, descending: bool) -> list[SortKey[Order]]:
    if field is OrderSortField.TOTAL:
        first: SortKey[Order] = SortKey(Order.total, lambda o: o.total, descending)
    elif field is OrderSortField.NUMBER:
        first = SortKey(Order.number, lambda o: o.number, descending)
    else:
        first = datetime_key(Order.placed_at, lambda o: o.placed_at, descending=descending)
    return [first, SortKey(Order.id, lambda o: o.id, descending)]


def _conditions(data: OrderFilterData) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if data.status is not None:
        conditions.append(Order.status == data.status)
    if data.customer_email is not None:
        customers = select(User.id).where(
            func.lower(User.email) == data.customer_email.strip().lower()
        )
        conditions.append(Order.customer_id.in_(customers))
    if data.placed_from is not None:
        conditions.append(Order.placed_at >= data.placed_from)
    if data.placed_to is not None:
        conditions.append(Order.placed_at < data.placed_to)
    return conditions


async def my_orders(ctx: Context, user: User, args: PageArgs) -> Page[Order]:
    statement = select(Order).where(Order.customer_id == user.id)
    return await paginate(ctx.readers, statement, NEWEST_ORDERS, args)


async def order_by_id(ctx: Context, order_id: str) -> Order | None:
    key = key_of(order_id, "Order")
    return None if key is None else await ctx.loaders.order_by_id.load(key)


async def all_orders(
    ctx: Context,
    args: PageArgs,
    data: OrderFilterData,
    field: OrderSortField = OrderSortField.PLACED_AT,
    descending: bool = True,
) -> Page[Order]:
    """Staff: every order matching the filter (placedFrom inclusive, placedTo exclusive)."""
    for value in (data.placed_from, data.placed_to):
        if value is not None and value.tzinfo is None:
            raise BadUserInput("Dates need a time zone offset.")
    statement = select(Order).where(*_conditions(data))
    return await paginate(ctx.readers, statement, order_keys(field, descending), args)


async def low_stock(ctx: Context, threshold: int, args: PageArgs) -> Page[Product]:
    """Staff: products (any status but archived) with at most `threshold` units, emptiest first."""
    if not 0 <= threshold <= MAX_STOCK:
        raise BadUserInput(f"`threshold` must be between 0 and {MAX_STOCK}.")
    statement = select(Product).where(
        Product.stock <= threshold, Product.status != ProductStatus.ARCHIVED
    )
    return await paginate(ctx.readers, statement, LEAST_STOCK, args)
