"""placeOrder: turn the customer's cart into an order, in one transaction, never overselling.

The steps, all in one transaction: BEGIN, then four round trips, the last of which commits:
1. Lock the cart (resolvers.orders.cart.lock_cart): one checkout per customer at a time.
2. In one statement: read the cart's lines by deleting them, and claim the idempotency key
   (INSERT … ON CONFLICT on (customer, key)), which also takes the order's number when the
   cart can be ordered. A key in use returns its order (the cart was emptied by it) or, with
   different cart content, is refused; a concurrent request with the same key waits on the
   cart lock, then finds the key in use.
3. The products, read with the cart lines in step 2 (no lock): a line that is unavailable or
   short of stock, or a cart in several currencies, is refused from this read; otherwise it
   is the snapshot (SKU, name, price, exact decimals) the order lines keep.
4. In one statement: the order with those lines, its first event, the key's order, and the
   confirmation email in the outbox. (The cart was emptied in step 2 by the DELETE …
   RETURNING that read it; a refusal rolls that back with everything else.)
5. Sent with the COMMIT in one message (db.allocation): allocate every line of the order
   (the `allocate_order` function), locking the product rows in id order, so two orders can
   never deadlock each other, and taking `stock - n` only where `stock >= n`, the product is
   still published and still matches the snapshot. A hot product's row lock is thus held for
   the allocation and the commit, inside PostgreSQL, not for the whole checkout nor for the
   application's turn to send COMMIT. A line that is not allocated rolls everything back: it
   is refused (the function says which line and why), or, if only the snapshot went stale (a
   price changed meanwhile), the checkout starts again.
After the commit: queue the email and announce the stock changes, in one Redis round trip
(resolvers.orders.announce).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db.allocation import Refusal, Shortfall, allocate_and_commit
from db.catalog import ProductStatus
from db.orders import IDEMPOTENCY_KEY_LIFETIME, Order, OrderStatus
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

CENT = Decimal("0.01")

# The checkout's statements are plain SQL with positional parameters, sent with
# `exec_driver_sql`: asyncpg prepares each once per connection, and nothing is built, cached
# or compiled per request (they run on every order, the hottest write path there is).

# Steps 1 and 2, after the cart lock, in one statement: empty the cart, reading its lines with
# their products (the snapshot, no lock), and claim the key (new, or expired and taken over)
# with the hash of what the cart holds (`cart_hash`, computed alike here). The order's number
# comes with the claim when the order can be written (the cart is not empty, every product is
# published with enough stock, one currency), so it costs no statement of its own. One row per
# cart line (one with NULL line columns for an empty cart), each with `claimed`: 0 when the key
# is in use.
TAKE_LINES_AND_CLAIM_KEY = """
    WITH taken AS (
        DELETE FROM cart_lines AS l USING products AS p
        WHERE l.cart_id = $1 AND l.product_id = p.id
        RETURNING l.id, l.product_id, l.quantity,
            p.sku, p.name, p.price, p.currency, p.status, p.stock
    ), cart AS (
        SELECT
            coalesce(string_agg(product_id || 'x' || quantity, ',' ORDER BY product_id), '')
                AS content,
            count(*) > 0 AND count(DISTINCT currency) = 1
                AND bool_and(status = 'published' AND stock >= quantity) AS orderable
        FROM taken
    ), claim AS (
        INSERT INTO idempotency_keys AS k (customer_id, key, cart_hash)
        SELECT $1, $2, encode(sha256(convert_to(cart.content, 'UTF8')), 'hex') FROM cart
        ON CONFLICT (customer_id, key) DO UPDATE
            SET cart_hash = excluded.cart_hash, order_id = NULL, created_at = now()
            WHERE k.created_at < now() - $3::interval
        RETURNING CASE WHEN (SELECT orderable FROM cart) THEN nextval('order_numbers') END
            AS number
    )
    SELECT (SELECT count(*) FROM claim) AS claimed, (SELECT number FROM claim) AS number, t.*
    FROM (SELECT) AS one LEFT JOIN taken AS t ON true
"""
USED_KEY = "SELECT cart_hash, order_id FROM idempotency_keys WHERE customer_id = $1 AND key = $2"
# Step 4: the order, its lines, its first event, the key's order and the confirmation email,
# in one statement (data-modifying CTEs).
WRITE_ORDER = """
    WITH o AS (
        INSERT INTO orders
            (number, customer_id, currency, subtotal, shipping, total, shipping_address, note)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        RETURNING id, status, placed_at, updated_at
    ), l AS (
        INSERT INTO order_lines
            (order_id, product_id, sku, name, unit_price, currency, quantity)
        SELECT o.id, w.product_id, w.sku, w.name, w.price, $3, w.quantity
        FROM o, unnest($9::bigint[], $10::text[], $11::text[], $12::numeric[], $13::integer[])
            AS w(product_id, sku, name, price, quantity)
    ), e AS (
        INSERT INTO order_events (order_id, type, actor_id) SELECT o.id, 'placed', $2 FROM o
    ), k AS (
        UPDATE idempotency_keys SET order_id = o.id FROM o
        WHERE idempotency_keys.customer_id = $2 AND idempotency_keys.key = $14
    ), m AS (
        INSERT INTO outbox_emails (kind, to_address, subject, body) VALUES ($15, $16, $17, $18)
        RETURNING id
    )
    SELECT o.id, o.status, o.placed_at, o.updated_at, m.id AS email_id FROM o, m
"""
# A price (or name) changed between the snapshot read and the allocation: start again.
SNAPSHOT_ATTEMPTS = 3


@dataclass(frozen=True)
class Allocated:
    product_id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    quantity: int


@dataclass(frozen=True)
class ProductState:
    """What a line's product is now, as read with the cart's lines (no lock)."""

    sku: str
    name: str
    price: Decimal
    currency: str
    status: ProductStatus
    stock: int


def shipping_for(config: Config, subtotal: Decimal) -> Decimal:
    return Decimal("0.00") if subtotal >= config.free_shipping_over else config.shipping_flat_rate


def cart_hash(lines: list[tuple[int, int, int]]) -> str:
    """What the key promises: the products and quantities (line ids and prices aside)."""
    content = ",".join(f"{product_id}x{quantity}" for _, product_id, quantity in lines)
    return hashlib.sha256(content.encode()).hexdigest()


async def _rows(connection: AsyncConnection, sql: str, *parameters: Any) -> Sequence[Row[Any]]:
    return (await connection.exec_driver_sql(sql, parameters)).all()


def _state(row: Row[Any]) -> ProductState:
    return ProductState(
        row.sku, row.name, row.price, row.currency, ProductStatus(row.status), row.stock
    )


def _unavailable(name: str | None, index: int) -> UserError:
    shown = f'"{name}"' if name is not None else "A product"
    message = f"{shown} in your cart is no longer available."
    return user_error(ErrorCode.PRODUCT_UNAVAILABLE, message, f"cart.lines.{index}")


def _short(stock: int, name: str, sku: str, quantity: int, index: int) -> UserError:
    return user_error(
        ErrorCode.INSUFFICIENT_STOCK,
        f'Only {stock} of "{name}" ({sku}) left; {quantity} in your cart.',
        f"cart.lines.{index}",
    )


def _snapshot(
    lines: list[tuple[int, int, int]], products: Mapping[int, ProductState]
) -> tuple[list[Allocated], UserError | None]:
    """The lines as the order will keep them, and the first line that cannot be had."""
    allocated: list[Allocated] = []
    for index, (_, product_id, quantity) in enumerate(lines):
        product = products.get(product_id)
        if product is None or product.status is not ProductStatus.PUBLISHED:
            return allocated, _unavailable(product.name if product else None, index)
        if product.stock < quantity:
            return allocated, _short(product.stock, product.name, product.sku, quantity, index)
        allocated.append(
            Allocated(
                product_id, product.sku, product.name, product.price, product.currency, quantity
            )
        )
    return allocated, None


def _refused_line(allocated: list[Allocated], refusal: Refusal) -> UserError | None:
    """The error naming the line allocate_order refused; None when only the snapshot went
    stale (the checkout starts again)."""
    index, line = next(
        (index, line)
        for index, line in enumerate(allocated)
        if line.product_id == refusal.product_id
    )
    if refusal.reason is Shortfall.UNAVAILABLE:
        return _unavailable(line.name, index)
    if refusal.reason is Shortfall.STOCK:
        return _short(refusal.stock, line.name, line.sku, line.quantity, index)
    return None


def _currency_problem(allocated: list[Allocated]) -> UserError | None:
    currency = allocated[0].currency
    if all(line.currency == currency for line in allocated):
        return None
    return user_error(ErrorCode.CURRENCY_MISMATCH, "Your cart holds several currencies.", "cart")


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
        connection = await session.connection()
        # Emptying the cart reads it, with its products (DELETE … USING products: the
        # snapshot, no lock), in one statement. Any refusal below rolls the DELETE back.
        rows = await _rows(
            connection, TAKE_LINES_AND_CLAIM_KEY, user.id, key, IDEMPOTENCY_KEY_LIFETIME
        )
        lines = sorted(
            ((row.id, row.product_id, row.quantity) for row in rows if row.id is not None),
            key=lambda line: line[1],
        )
        products = {row.product_id: _state(row) for row in rows if row.id is not None}
        claimed, number = rows[0].claimed, rows[0].number
        if not claimed:
            used = (await _rows(connection, USED_KEY, user.id, key))[0]
            used_hash, used_order_id = used.cart_hash, used.order_id
            await session.rollback()
            if lines and used_hash != cart_hash(lines):
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
        if problem is None:
            problem = _currency_problem(allocated)
        if problem is not None:
            await session.rollback()
            return Outcome.refused(problem)
        assert number is not None, "an orderable cart's claim takes the order's number"
        order, email_id = await _write_order(
            ctx, connection, user, key, number, allocated, address, note
        )
        # Last, with the COMMIT in the same message: the product rows stay locked only for
        # the allocation and the commit, all inside PostgreSQL.
        refusal = await allocate_and_commit(connection, order.id)
        if refusal is not None:
            await session.rollback()
            problem = _refused_line(allocated, refusal)
            return Outcome.refused(problem) if problem is not None else None
        await session.commit()  # the empty transaction the message left open
    await announce(ctx.services.redis, email_id, [line.product_id for line in allocated])
    return Outcome(order)


async def _write_order(
    ctx: Context,
    connection: AsyncConnection,
    user: User,
    key: str,
    number: int,
    allocated: list[Allocated],
    address: dict[str, str],
    note: str,
) -> tuple[Order, int]:
    """The order with its lines, its first event, the key's order and the confirmation email
    in the outbox: one statement whatever the cart's size. The order (as written) and the
    email's id."""
    subtotal = sum((line.price * line.quantity for line in allocated), Decimal("0"))
    subtotal = subtotal.quantize(CENT)
    shipping = shipping_for(ctx.config, subtotal).quantize(CENT)
    total = subtotal + shipping
    currency = allocated[0].currency
    email = templates.order_placed(
        user.name,
        number,
        [(line.name, line.quantity, line.price) for line in allocated],
        templates.OrderTotals(currency, subtotal, shipping, total),
    )
    written = (
        await _rows(
            connection,
            WRITE_ORDER,
            number,
            user.id,
            currency,
            subtotal,
            shipping,
            total,
            json.dumps(address),
            note,
            [line.product_id for line in allocated],
            [line.sku for line in allocated],
            [line.name for line in allocated],
            [line.price for line in allocated],
            [line.quantity for line in allocated],
            key,
            email.kind,
            user.email,
            email.subject,
            email.body,
        )
    )[0]
    order = Order(
        id=written.id,
        number=number,
        customer_id=user.id,
        status=OrderStatus(written.status),
        currency=currency,
        subtotal=subtotal,
        shipping=shipping,
        total=total,
        shipping_address=address,
        note=note,
        tracking_number=None,
        placed_at=written.placed_at,
        updated_at=written.updated_at,
    )
    return order, int(written.email_id)
