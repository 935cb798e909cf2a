"""Cart and order types, and the queries that read them (`cart`, `myOrders`, `order`, staff
`orders` and `lowStock`). Resolvers return `resolvers.orders` views and `db.orders` models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import Parent

from db.catalog import Product
from db.orders import Order, OrderEvent, OrderLine, OrderStatus
from db.users import User
from resolvers.context import Info
from resolvers.dataloader import MaybeAwaitable
from resolvers.orders import queries as resolve
from resolvers.orders.cart_view import CartLineView, CartProblem, CartView, cart_view
from resolvers.pagination import Page, PageArgs
from resolvers.prefetch import prefetch_page
from schema.catalog import Money, ProductType
from schema.errors import ErrorCodeEnum
from schema.node import Node
from schema.permissions import IsAuthenticated, IsStaff, require_user
from schema.relay import Connection
from schema.reviews import PublicProfile
from schema.users import UserType

OrderStatusEnum = strawberry.enum(OrderStatus, name="OrderStatus")
OrderSortField = strawberry.enum(resolve.OrderSortField, name="OrderSortField")


@strawberry.type(name="CartProblem", description="Why checkout would refuse a line today.")
class CartProblemType:
    code: ErrorCodeEnum  # type: ignore[valid-type]
    message: str

    @strawberry.field
    def line_id(self, root: Parent[CartProblem]) -> strawberry.ID:
        return strawberry.ID(root.line_global_id)


@strawberry.type(name="CartLine")
class CartLineType:
    quantity: int
    unit_price: Money = strawberry.field(description="The product's price now.")
    line_total: Money
    available: bool = strawberry.field(
        description="Published, with stock for the quantity: checkout would take it."
    )

    @strawberry.field
    def id(self, root: Parent[CartLineView]) -> strawberry.ID:
        return strawberry.ID(root.global_id)

    @strawberry.field(graphql_type=ProductType | None, description="Null when hidden from you.")
    def product(self, root: Parent[CartLineView], info: Info) -> MaybeAwaitable[Product | None]:
        return info.context.loaders.product_by_id.value_or_load(root.product_id)


@strawberry.type(name="Cart", description="The caller's cart, at current prices.")
class CartType:
    lines: list[CartLineType]
    subtotal: Money | None = strawberry.field(description="Null for an empty cart.")
    item_count: int = strawberry.field(description="Units across all lines.")
    problems: list[CartProblemType]

    @strawberry.field
    def id(self, root: Parent[CartView]) -> strawberry.ID:
        return strawberry.ID(root.global_id)


@strawberry.type(name="Address")
class AddressType:
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    region: str
    country: str = strawberry.field(description="ISO 3166 two-letter code.")


@strawberry.type(name="OrderLine", description="What was bought, as it was when ordered.")
class OrderLineType:
    sku: str
    name: str
    quantity: int
    # Read from the model's properties (db/orders.py).
    unit_money: Money = strawberry.field(name="unitPrice")
    line_money: Money = strawberry.field(name="lineTotal")

    @strawberry.field(graphql_type=ProductType | None, description="Null when hidden from you.")
    def product(self, root: Parent[OrderLine], info: Info) -> MaybeAwaitable[Product | None]:
        return info.context.loaders.product_by_id.value_or_load(root.product_id)


@strawberry.type(name="OrderEvent")
class OrderEventType:
    type: OrderStatusEnum  # type: ignore[valid-type]
    at: datetime
    note: str

    @strawberry.field(graphql_type=PublicProfile | None)
    def actor(self, root: Parent[OrderEvent], info: Info) -> MaybeAwaitable[User | None]:
        if root.actor_id is None:
            return None
        return info.context.loaders.profile_by_id.value_or_load(root.actor_id)


@strawberry.type(name="Order")
class OrderType(Node):
    number: int = strawberry.field(description="Human-readable and sequential.")
    status: OrderStatusEnum  # type: ignore[valid-type]
    placed_at: datetime
    note: str
    tracking_number: str | None
    subtotal_money: Money = strawberry.field(name="subtotal")
    shipping_money: Money = strawberry.field(name="shipping")
    total_money: Money = strawberry.field(name="total")

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Order)

    @strawberry.field
    def shipping_address(self, root: Parent[Order]) -> AddressType:
        return AddressType(**root.shipping_address)

    @strawberry.field(graphql_type=UserType | None)
    def customer(self, root: Parent[Order], info: Info) -> MaybeAwaitable[User | None]:
        return info.context.loaders.user_by_id.value_or_load(root.customer_id)

    @strawberry.field(graphql_type=list[OrderLineType])
    def lines(self, root: Parent[Order], info: Info) -> MaybeAwaitable[list[OrderLine]]:
        return info.context.loaders.order_lines_by_order.value_or_load(root.id)

    @strawberry.field(graphql_type=list[OrderEventType], description="Oldest first.")
    def events(self, root: Parent[Order], info: Info) -> MaybeAwaitable[list[OrderEvent]]:
        return info.context.loaders.order_events_by_order.value_or_load(root.id)


@strawberry.input
class OrderFilter:
    status: OrderStatusEnum | None = None  # type: ignore[valid-type]
    customer_email: str | None = None
    placed_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    placed_to: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
class OrderSort:
    field: OrderSortField  # type: ignore[valid-type]
    descending: bool = True


@strawberry.type
class OrderQuery:
    @strawberry.field(
        graphql_type=CartType,
        permission_classes=[IsAuthenticated],
        description="The caller's cart (empty until something is added).",
    )
    async def cart(self, info: Info) -> CartView:
        return await cart_view(info.context, require_user(info).id)

    @strawberry.field(
        graphql_type=Connection[OrderType],
        permission_classes=[IsAuthenticated],
        description="The caller's orders, newest first.",
    )
    async def my_orders(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Page[Order]:
        return await resolve.my_orders(info.context, require_user(info), PageArgs(first, after))

    @strawberry.field(
        graphql_type=OrderType | None,
        description="An order of the caller's (staff: any); null for anyone else's.",
    )
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return await resolve.order_by_id(info.context, id)

    @strawberry.field(
        graphql_type=Connection[OrderType],
        permission_classes=[IsStaff],
        description="Every order (staff only); newest first unless sorted.",
    )
    async def orders(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: OrderFilter | None = None,
        sort: OrderSort | None = None,
    ) -> Page[Order]:
        data = resolve.OrderFilterData()
        if filter is not None:
            data = resolve.OrderFilterData(
                filter.status, filter.customer_email, filter.placed_from, filter.placed_to
            )
        field, descending = (
            (sort.field, sort.descending) if sort else (resolve.OrderSortField.PLACED_AT, True)
        )
        return await resolve.all_orders(
            info.context, PageArgs(first, after), data, field, descending
        )

    @strawberry.field(
        graphql_type=Connection[ProductType],
        permission_classes=[IsStaff],
        description="Products (archived aside) with at most `threshold` units: staff only.",
    )
    async def low_stock(
        self, info: Info, threshold: int = 5, first: int | None = None, after: str | None = None
    ) -> Page[Product]:
        page = await resolve.low_stock(info.context, threshold, PageArgs(first, after))
        return await prefetch_page(info, page, "Product")
