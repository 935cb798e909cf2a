"""Order status changes: PLACED → PAID → FULFILLED, and PLACED or PAID → CANCELLED.

Each change is one conditional `UPDATE orders … WHERE id = … AND status IN (…) RETURNING`: of two
racing changes exactly one matches the row, and the other gets ORDER_STATUS_CHANGED. Only the
winner does the change's side effects in its transaction (a cancellation restocks, in product id
order like checkout allocates; fulfilment verifies reviews), so stock is restored exactly once.
Each change adds an event and a customer email (outbox); stock changes are announced after commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Product
from db.orders import Order, OrderEvent, OrderLine, OrderStatus
from db.text import clean_line
from db.users import User
from resolvers.context import Context
from resolvers.errors import ErrorCode, UserError, invalid_input, not_found, user_error
from resolvers.ids import key_of
from resolvers.orders.announce import announce
from resolvers.orders.input import MAX_REASON_LENGTH, MAX_TRACKING_LENGTH, clean_text
from resolvers.orders.purchases import verify_reviews_of
from resolvers.results import Outcome
from workers import templates
from workers.outbox import add_email

ALLOWED_FROM: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.PAID: (OrderStatus.PLACED,),
    OrderStatus.FULFILLED: (OrderStatus.PAID,),
    OrderStatus.CANCELLED: (OrderStatus.PLACED, OrderStatus.PAID),
}


@dataclass(frozen=True)
class Change:
    to: OrderStatus
    note: str = ""
    tracking_number: str | None = None
    # Customers may act only on their own orders, and only from these states.
    owner_id: int | None = None
    allowed_from: tuple[OrderStatus, ...] | None = None


async def _restock(session: AsyncSession, order_id: int) -> list[int]:
    lines = (
        await session.execute(
            select(OrderLine.product_id, OrderLine.quantity)
            .where(OrderLine.order_id == order_id)
            .order_by(OrderLine.product_id)
        )
    ).all()
    for product_id, quantity in lines:
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity)
            .execution_options(synchronize_session=False)
        )
    return [product_id for product_id, _ in lines]


def _email(change: Change, customer: User, order: Order) -> templates.EmailText:
    if change.to is OrderStatus.PAID:
        return templates.order_paid(customer.name, order.number)
    if change.to is OrderStatus.FULFILLED:
        return templates.order_fulfilled(customer.name, order.number, change.tracking_number or "")
    return templates.order_cancelled(customer.name, order.number, change.note)


async def _refusal(session: AsyncSession, key: int, owner_id: int | None) -> UserError:
    conditions: list[ColumnElement[bool]] = [Order.id == key]
    if owner_id is not None:
        conditions.append(Order.customer_id == owner_id)
    status = (await session.execute(select(Order.status).where(*conditions))).scalar_one_or_none()
    if status is None:
        return not_found("order")
    return user_error(
        ErrorCode.ORDER_STATUS_CHANGED, f"The order is {status.value.upper()} now.", "id"
    )


async def change_status(ctx: Context, actor: User, order_id: str, change: Change) -> Outcome[Order]:
    key = key_of(order_id, "Order")
    if key is None:
        return Outcome.refused(not_found("order"))
    allowed = change.allowed_from or ALLOWED_FROM[change.to]
    conditions: list[ColumnElement[bool]] = [Order.id == key, Order.status.in_(allowed)]
    if change.owner_id is not None:
        conditions.append(Order.customer_id == change.owner_id)
    values: dict[str, object] = {"status": change.to}
    if change.tracking_number is not None:
        values["tracking_number"] = change.tracking_number
    restocked: list[int] = []
    async with ctx.writer() as session:
        order = (
            await session.execute(
                update(Order)
                .where(*conditions)
                .values(**values)
                .returning(Order)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one_or_none()
        if order is None:
            error = await _refusal(session, key, change.owner_id)
            await session.rollback()
            return Outcome.refused(error)
        session.add(
            OrderEvent(order_id=order.id, type=change.to, actor_id=actor.id, note=change.note)
        )
        if change.to is OrderStatus.CANCELLED:
            restocked = await _restock(session, order.id)
        if change.to is OrderStatus.FULFILLED:
            await verify_reviews_of(session, order.id, order.customer_id)
        customer = await session.get(User, order.customer_id)
        assert customer is not None  # orders.customer_id is ON DELETE RESTRICT
        text = _email(change, customer, order)
        email = await add_email(
            session, kind=text.kind, to=customer.email, subject=text.subject, body=text.body
        )
        await session.commit()
    await announce(ctx.services.redis, email.id, restocked)
    return Outcome(order)


async def mark_paid(ctx: Context, staff: User, order_id: str) -> Outcome[Order]:
    return await change_status(ctx, staff, order_id, Change(OrderStatus.PAID))


async def fulfill(ctx: Context, staff: User, order_id: str, tracking_number: str) -> Outcome[Order]:
    tracking = clean_line(tracking_number, MAX_TRACKING_LENGTH)
    if tracking is None:
        key_of(order_id, "Order")  # a malformed id is BAD_USER_INPUT before anything else
        return Outcome.refused(
            invalid_input(f"1 to {MAX_TRACKING_LENGTH} printable characters.", "trackingNumber")
        )
    return await change_status(
        ctx, staff, order_id, Change(OrderStatus.FULFILLED, tracking_number=tracking)
    )


async def cancel(
    ctx: Context, actor: User, order_id: str, reason: str | None, *, own: bool = False
) -> Outcome[Order]:
    """Staff cancel PLACED or PAID orders; a customer (`own`) only their PLACED ones."""
    note = clean_text(reason, MAX_REASON_LENGTH)
    if note is None:
        key_of(order_id, "Order")
        return Outcome.refused(
            invalid_input(f"At most {MAX_REASON_LENGTH} printable characters.", "reason")
        )
    change = Change(
        OrderStatus.CANCELLED,
        note=note,
        owner_id=actor.id if own else None,
        allowed_from=(OrderStatus.PLACED,) if own else None,
    )
    return await change_status(ctx, actor, order_id, change)
