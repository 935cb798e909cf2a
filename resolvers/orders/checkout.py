"""placeOrder: turn the customer's cart into an order, in one transaction, never overselling.

The steps, all in one transaction:
1. Lock the cart (resolvers.orders.cart.lock_cart): one checkout per customer at a time; then
   read its lines by deleting them.
2. Claim the idempotency key: INSERT … ON CONFLICT on (customer, key). A key in use returns
   its order (the cart was emptied by it) or, with different cart content, is refused; a
   concurrent request with the same key waits on the row lock of the first one's insert.
3. The products, read with the cart lines in step 1 (no lock): a line that is unavailable or
   short of stock, or a cart in several currencies, is refused from this read; otherwise it
   is the snapshot (SKU, name, price, exact decimals) the order lines keep.
4. Write the order with those lines, its first event, the key's order, and the confirmation
   email in the outbox. (The cart was emptied in step 1 by the DELETE … RETURNING that read
   it; a refusal rolls that back with everything else.)
5. Last statement before COMMIT: allocate every line at once (`allocate`), locking the
   product rows in id order, so two orders can never deadlock each other, and taking
   `stock - n` only where `stock >= n`, the product is still published and still matches the
   snapshot. A hot product's row lock is thus held for one statement and the COMMIT, not for
   the whole checkout. A line that is not allocated rolls everything back: it is refused
   from a fresh read, or, if only the snapshot went stale (a price changed meanwhile), the
   checkout starts again.
After the commit: enqueue the email and announce the stock changes (workers.events).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text, update
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


# One statement: the CTE locks the rows in product id order (LockRows sits above the Sort),
# and the UPDATE only reaches rows the CTE has already locked, so locks are always taken in id
# order. Under READ COMMITTED the UPDATE re-checks its WHERE on the newest row version.
# NO KEY UPDATE, the lock an UPDATE of stock takes: FOR UPDATE would conflict with the KEY
# SHARE locks that the order_lines foreign key already took on these rows, and deadlock.
ALLOCATE = text(
    """
    WITH wanted AS (
        SELECT * FROM unnest(
            CAST(:ids AS bigint[]), CAST(:quantities AS integer[]), CAST(:skus AS text[]),
            CAST(:names AS text[]), CAST(:prices AS numeric[]), CAST(:currencies AS text[])
        ) AS w(id, quantity, sku, name, price, currency)
    ), locked AS (
        SELECT id FROM products WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR NO KEY UPDATE
    )
    UPDATE products AS p SET stock = p.stock - w.quantity
    FROM wanted AS w
    WHERE p.id = w.id AND p.id IN (SELECT id FROM locked)
      AND p.stock >= w.quantity AND p.status = 'published'
      AND p.sku = w.sku AND p.name = w.name AND p.price = w.price AND p.currency = w.currency
    RETURNING p.id
    """
)
# A price (or name) changed between the snapshot read and the allocation: start again.
SNAPSHOT_ATTEMPTS = 3


async def allocate(session: AsyncSession, lines: list[Allocated]) -> bool:
    """Take every line's quantity off the shelf, or none (the caller then rolls back)."""
    parameters = {
        "ids": [line.product_id for line in lines],
        "quantities": [line.quantity for line in lines],
        "skus": [line.sku for line in lines],
        "names": [line.name for line in lines],
        "prices": [line.price for line in lines],
        "currencies": [line.currency for line in lines],
    }
    taken = (await session.execute(ALLOCATE, parameters)).all()
    return len(taken) == len(lines)


# What a line's product must be for the order (the snapshot), read with the cart's lines.
PRODUCT_COLUMNS = (
    Product.sku,
    Product.name,
    Product.price,
    Product.currency,
    Product.status,
    Product.stock,
)


async def _fresh_snapshot(
    session: AsyncSession, lines: list[tuple[int, int, int]]
) -> tuple[list[Allocated], UserError | None]:
    """The products as now committed (no lock): see `_snapshot`."""
    ids = [product_id for _, product_id, _ in lines]
    statement = select(Product.id, *PRODUCT_COLUMNS).where(Product.id.in_(ids))
    products = {row.id: row for row in await session.execute(statement)}
    return _snapshot(lines, products)


def _snapshot(
    lines: list[tuple[int, int, int]], products: Mapping[int, Any]
) -> tuple[list[Allocated], UserError | None]:
    """The lines as the order will keep them, and the first line that cannot be had."""
    allocated: list[Allocated] = []
    for index, (_, product_id, quantity) in enumerate(lines):
        product = products.get(product_id)
        field = f"cart.lines.{index}"
        if product is None or product.status is not ProductStatus.PUBLISHED:
            name = f'"{product.name}"' if product else "A product"
            message = f"{name} in your cart is no longer available."
            return allocated, user_error(ErrorCode.PRODUCT_UNAVAILABLE, message, field)
        if product.stock < quantity:
            return allocated, user_error(
                ErrorCode.INSUFFICIENT_STOCK,
                f'Only {product.stock} of "{product.name}" ({product.sku}) left; '
                f"{quantity} in your cart.",
                field,
            )
        allocated.append(
            Allocated(
                product_id, product.sku, product.name, product.price, product.currency, quantity
            )
        )
    return allocated, None


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
    for _ in range(SNAPSHOT_ATTEMPTS):
        outcome = await _checkout(ctx, user, clean, stored_address, clean_note)
        if outcome is not None:
            return outcome
    # Every attempt rolled back: nothing was written, and the customer decides again.
    return Outcome.refused(
        user_error(
            ErrorCode.CART_CHANGED,
            "Products in your cart changed while you were checking out: review the cart and try"
            " again.",
            "cart",
        )
    )


async def _checkout(
    ctx: Context, user: User, key: str, address: dict[str, str], note: str
) -> Outcome[Order] | None:
    """One attempt, in one transaction; None when the product snapshot went stale."""
    async with ctx.writer() as session:
        await lock_cart(session, user.id)
        # Emptying the cart reads it, with its products (DELETE … USING products: the
        # snapshot, no lock), in one statement. Any refusal below rolls the DELETE back.
        rows = (
            await session.execute(
                delete(CartLine)
                .where(CartLine.cart_id == user.id, CartLine.product_id == Product.id)
                .returning(CartLine.id, CartLine.product_id, CartLine.quantity, *PRODUCT_COLUMNS)
            )
        ).all()
        lines = sorted(
            ((row.id, row.product_id, row.quantity) for row in rows), key=lambda line: line[1]
        )
        products = {row.product_id: row for row in rows}
        content_hash = cart_hash(lines)
        used = await claim_key(session, user.id, key, content_hash)
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
        allocated, problem = _snapshot(lines, products)
        if problem is not None:
            await session.rollback()
            return Outcome.refused(problem)
        currency = allocated[0].currency
        if any(line.currency != currency for line in allocated):
            await session.rollback()
            return Outcome.refused(
                user_error(
                    ErrorCode.CURRENCY_MISMATCH, "Your cart holds several currencies.", "cart"
                )
            )
        order = await _write_order(ctx, session, user, key, allocated, address, note)
        email = await add_email(session, **_confirmation(user, order, allocated))
        # Last: the product rows stay locked only from here to the COMMIT.
        if not await allocate(session, allocated):
            await session.rollback()
            _, problem = await _fresh_snapshot(session, lines)
            return Outcome.refused(problem) if problem is not None else None
        await session.commit()
    await announce(ctx.services.redis, email.id, [line.product_id for line in allocated])
    return Outcome(order)


async def _write_order(
    ctx: Context,
    session: AsyncSession,
    user: User,
    key: str,
    allocated: list[Allocated],
    address: dict[str, str],
    note: str,
) -> Order:
    """The order (one INSERT … RETURNING), then its lines, its first event and the key's order
    in one more statement (data-modifying CTEs): two round trips whatever the cart's size."""
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
    lines = insert(OrderLine).values(
        [
            {
                "order_id": order.id,
                "product_id": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "unit_price": line.price,
                "currency": line.currency,
                "quantity": line.quantity,
            }
            for line in allocated
        ]
    )
    event = insert(OrderEvent).values(order_id=order.id, type=OrderStatus.PLACED, actor_id=user.id)
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.customer_id == user.id, IdempotencyKey.key == key)
        .values(order_id=order.id)
        .add_cte(lines.cte("lines"))
        .add_cte(event.cte("event"))
        .execution_options(synchronize_session=False)
    )
    return order


def _confirmation(user: User, order: Order, allocated: list[Allocated]) -> dict[str, str]:
    totals = templates.OrderTotals(order.currency, order.subtotal, order.shipping, order.total)
    lines = [(line.name, line.quantity, line.price) for line in allocated]
    text = templates.order_placed(user.name, order.number, lines, totals)
    return {"kind": text.kind, "to": user.email, "subject": text.subject, "body": text.body}
