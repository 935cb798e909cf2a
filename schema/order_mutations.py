"""Cart and order mutations: payloads `{cart errors}` and `{order errors}`.

Input problems come back as typed `errors` with nothing written (resolvers.orders.*)."""

from __future__ import annotations

import strawberry

from db.orders import Order
from resolvers.context import Info
from resolvers.orders import cart, checkout, lifecycle
from resolvers.orders.cart_view import CartView
from resolvers.orders.input import AddressData
from resolvers.results import Outcome
from schema.errors import UserErrorType
from schema.orders import CartType, OrderType
from schema.permissions import IsAuthenticated, IsStaff, require_user


@strawberry.input
class AddToCartInput:
    product_id: strawberry.ID
    quantity: int = strawberry.field(default=1, description="1 to 999.")


@strawberry.input
class UpdateCartLineInput:
    line_id: strawberry.ID
    quantity: int = strawberry.field(description="0 to 999; 0 removes the line.")


@strawberry.input
class AddressInput:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166 two-letter code, e.g. US.")
    line2: str = ""
    region: str = ""


@strawberry.input
class PlaceOrderInput:
    idempotency_key: str = strawberry.field(
        description=(
            "Any unique string per checkout attempt (e.g. a UUID): sent again, it returns the "
            "same order instead of a second one. Keys expire after 24 hours."
        )
    )
    shipping_address: AddressInput
    note: str | None = None


@strawberry.input
class FulfillOrderInput:
    id: strawberry.ID
    tracking_number: str


@strawberry.input
class CancelOrderInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.type
class CartPayload:
    value: CartType | None = strawberry.field(name="cart")
    errors: list[UserErrorType]


@strawberry.type
class OrderPayload:
    value: OrderType | None = strawberry.field(name="order")
    errors: list[UserErrorType]


def _address(value: AddressInput) -> AddressData:
    return AddressData(
        name=value.name,
        line1=value.line1,
        line2=value.line2,
        city=value.city,
        postal_code=value.postal_code,
        region=value.region,
        country=value.country,
    )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(graphql_type=CartPayload, permission_classes=[IsAuthenticated])
    async def add_to_cart(self, info: Info, input: AddToCartInput) -> Outcome[CartView]:
        return await cart.add_to_cart(
            info.context, require_user(info), input.product_id, input.quantity
        )

    @strawberry.mutation(graphql_type=CartPayload, permission_classes=[IsAuthenticated])
    async def update_cart_line(self, info: Info, input: UpdateCartLineInput) -> Outcome[CartView]:
        return await cart.update_cart_line(
            info.context, require_user(info), input.line_id, input.quantity
        )

    @strawberry.mutation(graphql_type=CartPayload, permission_classes=[IsAuthenticated])
    async def remove_cart_line(self, info: Info, line_id: strawberry.ID) -> Outcome[CartView]:
        return await cart.remove_cart_line(info.context, require_user(info), line_id)

    @strawberry.mutation(graphql_type=CartPayload, permission_classes=[IsAuthenticated])
    async def clear_cart(self, info: Info) -> Outcome[CartView]:
        return await cart.clear_cart(info.context, require_user(info))

    @strawberry.mutation(
        graphql_type=OrderPayload,
        permission_classes=[IsAuthenticated],
        description="Order everything in the cart, or nothing (see the errors).",
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> Outcome[Order]:
        return await checkout.place_order(
            info.context,
            require_user(info),
            input.idempotency_key,
            _address(input.shipping_address),
            input.note,
        )

    @strawberry.mutation(
        graphql_type=OrderPayload,
        permission_classes=[IsAuthenticated],
        description="Cancel your order while it is PLACED (stock goes back).",
    )
    async def cancel_my_order(self, info: Info, id: strawberry.ID) -> Outcome[Order]:
        return await lifecycle.cancel(info.context, require_user(info), id, None, own=True)

    @strawberry.mutation(
        graphql_type=OrderPayload, permission_classes=[IsStaff], description="PLACED → PAID."
    )
    async def mark_order_paid(self, info: Info, id: strawberry.ID) -> Outcome[Order]:
        return await lifecycle.mark_paid(info.context, require_user(info), id)

    @strawberry.mutation(
        graphql_type=OrderPayload, permission_classes=[IsStaff], description="PAID → FULFILLED."
    )
    async def fulfill_order(self, info: Info, input: FulfillOrderInput) -> Outcome[Order]:
        return await lifecycle.fulfill(
            info.context, require_user(info), input.id, input.tracking_number
        )

    @strawberry.mutation(
        graphql_type=OrderPayload,
        permission_classes=[IsStaff],
        description="PLACED or PAID → CANCELLED (stock goes back).",
    )
    async def cancel_order(self, info: Info, input: CancelOrderInput) -> Outcome[Order]:
        return await lifecycle.cancel(info.context, require_user(info), input.id, input.reason)
