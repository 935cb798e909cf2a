"""Verified purchases: a customer who has a fulfilled order containing a product.

`Review.verified_purchase` keeps the answer on the review (an indexed column the filter and the
sort read): set when a review is written, and when an order is fulfilled. It never goes back,
since a fulfilled order stays fulfilled. Like every query helper these never commit.
"""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Product
from db.orders import Order, OrderLine, OrderStatus
from db.reviews import Review


async def bought(session: AsyncSession, customer_id: int, product_id: int) -> bool:
    statement = select(
        exists().where(
            OrderLine.product_id == product_id,
            Order.id == OrderLine.order_id,
            Order.customer_id == customer_id,
            Order.status == OrderStatus.FULFILLED,
        )
    )
    return bool((await session.execute(statement)).scalar_one())


async def verify_reviews_of(session: AsyncSession, order_id: int, customer_id: int) -> None:
    """The order was fulfilled: its customer's reviews of its products are verified now.

    The products are locked first (FOR SHARE, in id order), as review writes lock them
    (resolvers.reviews.ratings.lock_product): a review being added meanwhile is either
    committed before this UPDATE reads, or its `bought` check runs after this commits."""
    products = select(OrderLine.product_id).where(OrderLine.order_id == order_id)
    await session.execute(
        select(Product.id)
        .where(Product.id.in_(products))
        .order_by(Product.id)
        .with_for_update(read=True)
    )
    await session.execute(
        update(Review)
        .where(
            Review.user_id == customer_id,
            Review.product_id.in_(products),
            Review.verified_purchase.is_(False),
        )
        .values(verified_purchase=True)
        .execution_options(synchronize_session=False)
    )


async def was_ordered(session: AsyncSession, product_id: int) -> bool:
    statement = select(exists().where(OrderLine.product_id == product_id))
    return bool((await session.execute(statement)).scalar_one())
