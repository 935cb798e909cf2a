"""placeOrder: turn the customer's cart into an order, in one transaction, never overselling.

The steps, all in one transaction:
1. Lock the cart (resolvers.orders.cart.lock_cart): one checkout per customer at a time; then
   read its lines by deleting them.
2. Claim the idempotency key: INSERT … ON CONFLICT on (customer, key). A key in use returns
   its order (the cart was emptied by it) or, with different cart content, is refused; a
   concurrent request with the same key waits on the row lock of the first one's insert.
3. Allocate every line with `UPDATE products SET stock = stock - n WHERE … AND stock >= n`, in
   product id order, so two orders can never deadlock each other. The first line that cannot
   be allocated fails the order and the transaction is rolled back: nothing is written.
4. Write the order with lines snapshotting SKU, name and price (exact decimals), its first
   event, and add the confirmation email to the outbox. (The cart was emptied in step 1 by
   the DELETE … RETURNING that read it; a refusal rolls that back with everything else.)
After the commit: enqueue the email and announce the stock changes (workers.events).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Product, ProductStatus
from db.orders import (
    IDEMPOTENCY_KEY_LIFETIME,
    CartLine,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from db.users import User
from resolvers.context import Config, Context
from resolvers.errors import ErrorCode, UserError, invalid_input, user_error
from resolvers.orders.announce import announce
from resolvers.orders.cart import lock_cart
from resolvers.orders.input import (
    MAX_NOTE_LENGTH,
    AddressData,
    clean_address,
    clean_key,
    clean_text,
)
from resolvers.results import Outcome
from workers import templates
from workers.outbox import add_email

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Allocated:
    product_id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    quantity: int


def shipping_for(config: Config, subtotal: Decimal) -> Decimal:
    return Decimal("0.00") if subtotal >= config.free_shipping_over else config.shipping_flat_rate


def cart_hash(lines: list[tuple[int, int, int]]) -> str:
    """What the key promises: the products and quantities (line ids and prices aside)."""
    content = ",".join(f"{product_id}x{quantity}" for _, product_id, quantity in lines)
    return hashlib.sha256(content.encode()).hexdigest()


async def claim_key(
    session: AsyncSession, customer_id: int, key: str, content_hash: str
) -> IdempotencyKey | None:
    """None when the key is now this transaction's (new, or expired and taken over); else the
    key row as another committed transaction left it."""
    statement = (
        insert(IdempotencyKey)
        .values(customer_id=customer_id, key=key, cart_hash=content_hash)
        .on_conflict_do_update(
            index_elements=[IdempotencyKey.customer_id, IdempotencyKey.key],
            set_={"cart_hash": content_hash, "order_id": None, "created_at": func.now()},
            where=IdempotencyKey.created_at < func.now() - IDEMPOTENCY_KEY_LIFETIME,
        )
        .returning(IdempotencyKey.key)
    )
    if (await session.execute(statement)).first() is not None:
        return None
    return (
        await session.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.customer_id == customer_id, IdempotencyKey.key == key
            )
        )
    ).scalar_one()


async def _allocate(session: AsyncSession, product_id: int, quantity: int) -> Allocated | None:
    statement = (
        update(Product)
        .where(
            Product.id == product_id,
            Product.stock >= quantity,
            Product.status == ProductStatus.PUBLISHED,
        )
        .values(stock=Product.stock - quantity)
        .returning(Product.sku, Product.name, Product.price, Product.currency)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        return None
    return Allocated(product_id, row.sku, row.name, row.price, row.currency, quantity)


async def _why_not(session: AsyncSession, product_id: int, quantity: int, index: int) -> UserError:
    product = await session.get(Product, product_id)
    field = f"cart.lines.{index}"
    if product is None or product.status is not ProductStatus.PUBLISHED:
        name = f'"{product.name}"' if product else "A product"
        return user_error(
            ErrorCode.PRODUCT_UNAVAILABLE, f"{name} in your cart is no longer available.", field
        )
    return user_error(
        ErrorCode.INSUFFICIENT_STOCK,
        f'Only {product.stock} of "{product.name}" ({product.sku}) left; {quantity} in your cart.',
        field,
    )


def _check(
    key: str, address: AddressData, note: str | None
) -> tuple[str | None, dict[str, str], str | None, list[UserError]]:
    errors: list[UserError] = []
    clean = clean_key(key)
    if clean is None:
        errors.append(invalid_input("1 to 200 printable characters.", "idempotencyKey"))
    stored_address, address_errors = clean_address(address)
    errors += address_errors
    clean_note = clean_text(note, MAX_NOTE_LENGTH)
    if clean_note is None:
        errors.append(invalid_input(f"At most {MAX_NOTE_LENGTH} printable characters.", "note"))
    return clean, stored_address, clean_note, errors


async def place_order(
    ctx: Context, user: User, key: str, address: AddressData, note: str | None
) -> Outcome[Order]:
    clean, stored_address, clean_note, errors = _check(key, address, note)
    if errors or clean is None or clean_note is None:
        return Outcome.refused(*errors)
    async with ctx.writer() as session:
        await lock_cart(session, user.id)
        # Emptying the cart reads it: any refusal below rolls the DELETE back.
        lines = sorted(
            (
                (row.id, row.product_id, row.quantity)
                for row in await session.execute(
                    delete(CartLine)
                    .where(CartLine.cart_id == user.id)
                    .returning(CartLine.id, CartLine.product_id, CartLine.quantity)
                )
            ),
            key=lambda line: line[1],
        )
        content_hash = cart_hash(lines)
        used = await claim_key(session, user.id, clean, content_hash)
        if used is not None:
            used_hash, used_order_id = used.cart_hash, used.order_id
            await session.rollback()
            if lines and used_hash != content_hash:
                return Outcome.refused(
                    user_error(
                        ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        "This key was used for another cart: use a new key for a new order.",
                        "idempotencyKey",
                    )
                )
            order = await session.get(Order, used_order_id) if used_order_id else None
            assert order is not None, "a committed key always has its order"
            return Outcome(order)
        if not lines:
            await session.rollback()
            return Outcome.refused(user_error(ErrorCode.CART_EMPTY, "Your cart is empty.", None))
        allocated: list[Allocated] = []
        for index, (_, product_id, quantity) in enumerate(lines):
            taken = await _allocate(session, product_id, quantity)
            if taken is None:
                error = await _why_not(session, product_id, quantity, index)
                await session.rollback()
                return Outcome.refused(error)
            allocated.append(taken)
        currency = allocated[0].currency
        if any(line.currency != currency for line in allocated):
            await session.rollback()
            return Outcome.refused(
                user_error(
                    ErrorCode.CURRENCY_MISMATCH, "Your cart holds several currencies.", "cart"
                )
            )
        order = await _write_order(ctx, session, user, allocated, stored_address, clean_note)
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.customer_id == user.id, IdempotencyKey.key == clean)
            .values(order_id=order.id)
        )
        email = await add_email(session, **_confirmation(user, order, allocated))
        await session.commit()
    await announce(ctx.services.redis, email.id, [line.product_id for line in allocated])
    return Outcome(order)


async def _write_order(
    ctx: Context,
    session: AsyncSession,
    user: User,
    allocated: list[Allocated],
    address: dict[str, str],
    note: str,
) -> Order:
    subtotal = sum((line.price * line.quantity for line in allocated), Decimal("0"))
    subtotal = subtotal.quantize(CENT)
    shipping = shipping_for(ctx.config, subtotal).quantize(CENT)
    order = Order(
        customer_id=user.id,
        currency=allocated[0].currency,
        subtotal=subtotal,
        shipping=shipping,
        total=subtotal + shipping,
        shipping_address=address,
        note=note,
    )
    session.add(order)
    await session.flush()
    session.add_all(
        OrderLine(
            order_id=order.id,
            product_id=line.product_id,
            sku=line.sku,
            name=line.name,
            unit_price=line.price,
            currency=line.currency,
            quantity=line.quantity,
        )
        for line in allocated
    )
    session.add(OrderEvent(order_id=order.id, type=OrderStatus.PLACED, actor_id=user.id))
    return order


def _confirmation(user: User, order: Order, allocated: list[Allocated]) -> dict[str, str]:
    totals = templates.OrderTotals(order.currency, order.subtotal, order.shipping, order.total)
    lines = [(line.name, line.quantity, line.price) for line in allocated]
    text = templates.order_placed(user.name, order.number, lines, totals)
    return {"kind": text.kind, "to": user.email, "subject": text.subject, "body": text.body}
