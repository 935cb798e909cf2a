"""What a cart shows: its lines at the current prices, and the problems checkout would meet.

A cart stores products and quantities only. Prices, availability and stock are read now, in
one statement, so a cart is never stale; a line whose product was unpublished, archived or no
longer has the stock is reported in `problems`, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Product, ProductStatus
from db.global_ids import encode_global_id
from db.orders import CartLine
from db.values import Money
from resolvers.context import Context
from resolvers.errors import ErrorCode


@dataclass(frozen=True)
class CartProblem:
    line_id: int
    code: ErrorCode
    message: str

    @property
    def line_global_id(self) -> str:
        return encode_global_id("CartLine", self.line_id)


@dataclass(frozen=True)
class CartLineView:
    id: int
    product_id: int
    quantity: int
    unit_price: Money
    available: bool

    @property
    def global_id(self) -> str:
        return encode_global_id("CartLine", self.id)

    @property
    def line_total(self) -> Money:
        return Money(self.unit_price.amount * self.quantity, self.unit_price.currency)


@dataclass(frozen=True)
class CartView:
    customer_id: int
    lines: list[CartLineView] = field(default_factory=list)
    problems: list[CartProblem] = field(default_factory=list)

    @property
    def global_id(self) -> str:
        return encode_global_id("Cart", self.customer_id)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal(self) -> Money | None:
        """The sum of every line at today's prices; null for an empty cart (no currency)."""
        if not self.lines:
            return None
        amount = sum((line.line_total.amount for line in self.lines), Decimal("0"))
        return Money(amount, self.lines[0].unit_price.currency)


def line_problem(line_id: int, product: Product, quantity: int) -> CartProblem | None:
    if product.status is not ProductStatus.PUBLISHED:
        return CartProblem(
            line_id, ErrorCode.PRODUCT_UNAVAILABLE, f'"{product.name}" is no longer available.'
        )
    if product.stock < quantity:
        return CartProblem(
            line_id,
            ErrorCode.INSUFFICIENT_STOCK,
            f'Only {product.stock} of "{product.name}" left; {quantity} in the cart.',
        )
    return None


async def cart_rows(session: AsyncSession, customer_id: int) -> list[tuple[CartLine, Product]]:
    """The cart's lines with their products, oldest line first."""
    statement = (
        select(CartLine, Product)
        .join(Product, Product.id == CartLine.product_id)
        .where(CartLine.cart_id == customer_id)
        .order_by(CartLine.id)
    )
    return [(line, product) for line, product in (await session.execute(statement)).all()]


async def cart_view(ctx: Context, customer_id: int) -> CartView:
    """The customer's cart as it is now (empty when it was never used)."""
    async with ctx.readers() as session:
        rows = await cart_rows(session, customer_id)
    view = CartView(customer_id)
    for line, product in rows:
        problem = line_problem(line.id, product, line.quantity)
        view.lines.append(
            CartLineView(line.id, product.id, line.quantity, product.money, problem is None)
        )
        if problem is not None:
            view.problems.append(problem)
    return view
