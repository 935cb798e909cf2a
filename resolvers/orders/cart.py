"""Cart writes: add a product, change or remove a line, empty the cart.

Every write first upserts the customer's cart row, which locks it until commit: writes to one
cart (and checkout, which takes the same lock) run one at a time, so limits such as 100 lines
and one currency per cart hold under concurrency. Limits are checked against the current
products; checkout checks stock again, for real, when it allocates.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Product, ProductStatus
from db.orders import CartLine
from db.users import User
from resolvers.context import Context
from resolvers.errors import ErrorCode, UserError, not_found, user_error
from resolvers.ids import key_of
from resolvers.orders.cart_view import CartView, cart_rows, cart_view
from resolvers.orders.input import MAX_CART_LINES, MAX_QUANTITY, quantity_problem
from resolvers.results import Outcome
from resolvers.visibility import visible_products

# Plain SQL (a prepared statement, nothing to build or compile per request): every cart write
# and every checkout starts with it.
LOCK_CART = (
    "INSERT INTO carts (customer_id) VALUES ($1) "
    "ON CONFLICT (customer_id) DO UPDATE SET updated_at = now()"
)


async def lock_cart(session: AsyncSession, customer_id: int) -> None:
    """Create the customer's cart if needed, and hold its row lock until commit."""
    connection = await session.connection()
    await connection.exec_driver_sql(LOCK_CART, (customer_id,))


def unavailable(product: Product, field: str = "productId") -> UserError:
    return user_error(
        ErrorCode.PRODUCT_UNAVAILABLE, f'"{product.name}" is not available for sale.', field
    )


def insufficient_stock(product: Product, wanted: int, field: str = "quantity") -> UserError:
    return user_error(
        ErrorCode.INSUFFICIENT_STOCK,
        f'Only {product.stock} of "{product.name}" in stock; {wanted} wanted.',
        field,
    )


async def _refused(session: AsyncSession, *errors: UserError) -> Outcome[CartView]:
    await session.rollback()
    return Outcome.refused(*errors)


async def add_to_cart(
    ctx: Context, user: User, product_id: str, quantity: int
) -> Outcome[CartView]:
    """Add `quantity` units (to the line of that product, if there is one)."""
    key = key_of(product_id, "Product")
    errors = [problem] if (problem := quantity_problem(quantity)) else []
    if key is None:
        errors.append(not_found("product", "productId"))
    if errors or key is None:
        return Outcome.refused(*errors)
    async with ctx.writer() as session:
        await lock_cart(session, user.id)
        product = (
            await session.execute(select(Product).where(Product.id == key, visible_products(user)))
        ).scalar_one_or_none()
        if product is None:
            return await _refused(session, not_found("product", "productId"))
        if product.status is not ProductStatus.PUBLISHED:
            return await _refused(session, unavailable(product))
        rows = await cart_rows(session, user.id)
        existing = next((line for line, other in rows if other.id == product.id), None)
        wanted = quantity + (existing.quantity if existing else 0)
        if wanted > MAX_QUANTITY:
            return await _refused(
                session,
                user_error(
                    ErrorCode.QUANTITY_INVALID,
                    f"At most {MAX_QUANTITY} of one product per order.",
                    "quantity",
                ),
            )
        if existing is None and len(rows) >= MAX_CART_LINES:
            return await _refused(
                session,
                user_error(
                    ErrorCode.CART_FULL, f"A cart holds at most {MAX_CART_LINES} lines.", None
                ),
            )
        if any(other.currency != product.currency for _, other in rows):
            return await _refused(
                session,
                user_error(
                    ErrorCode.CURRENCY_MISMATCH,
                    "A cart holds products of one currency: order the others separately.",
                    "productId",
                ),
            )
        if wanted > product.stock:
            return await _refused(session, insufficient_stock(product, wanted))
        if existing is None:
            session.add(CartLine(cart_id=user.id, product_id=product.id, quantity=wanted))
        else:
            existing.quantity = wanted
        await session.commit()
    return Outcome(await cart_view(ctx, user.id))


async def update_cart_line(
    ctx: Context, user: User, line_id: str, quantity: int
) -> Outcome[CartView]:
    """Set a line's quantity; 0 removes it. More than the stock is refused, less never is."""
    key = key_of(line_id, "CartLine")
    errors = [p] if (p := quantity_problem(quantity, allow_zero=True)) else []
    if key is None:
        errors.append(not_found("cart line", "lineId"))
    if errors or key is None:
        return Outcome.refused(*errors)
    async with ctx.writer() as session:
        await lock_cart(session, user.id)
        row = (
            await session.execute(
                select(CartLine, Product)
                .join(Product, Product.id == CartLine.product_id)
                .where(CartLine.id == key, CartLine.cart_id == user.id)
            )
        ).one_or_none()
        if row is None:
            return await _refused(session, not_found("cart line", "lineId"))
        line, product = row
        if quantity == 0:
            await session.delete(line)
        else:
            if quantity > line.quantity and quantity > product.stock:
                return await _refused(session, insufficient_stock(product, quantity))
            line.quantity = quantity
        await session.commit()
    return Outcome(await cart_view(ctx, user.id))


async def remove_cart_line(ctx: Context, user: User, line_id: str) -> Outcome[CartView]:
    return await update_cart_line(ctx, user, line_id, 0)


async def clear_cart(ctx: Context, user: User) -> Outcome[CartView]:
    async with ctx.writer() as session:
        await session.execute(delete(CartLine).where(CartLine.cart_id == user.id))
        await session.commit()
    return Outcome(CartView(user.id))
