"""A product's rating aggregate, kept exact in the transaction of every review write.

Every review write (add, edit, delete, moderate) follows the same protocol:

1. `lock_product` first, before touching any review of the product. Writes to one product's
   reviews then run one after another, and no two transactions can deadlock (inserting a review
   takes a key-share lock on its product, which a later FOR UPDATE would wait on).
2. Write the review.
3. `refresh_rating` recomputes count, sum, average and histogram from the approved reviews in
   one statement. Because the lock was taken before this statement began, its snapshot sees
   every review write committed before ours: the aggregate is exact, never an increment that
   could drift.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, Numeric, case, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Product, ProductStatus
from db.reviews import Review, ReviewStatus

STARS = range(1, 6)


async def lock_product(
    session: AsyncSession, product_id: int, *, published_only: bool = False
) -> bool:
    """Lock the product row for this transaction; False when there is no such product."""
    statement = select(Product.id).where(Product.id == product_id).with_for_update()
    if published_only:
        statement = statement.where(Product.status == ProductStatus.PUBLISHED)
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def refresh_rating(session: AsyncSession, product_id: int) -> None:
    """Recompute the product's rating from its approved reviews, in one UPDATE … FROM.

    Call `lock_product` first in the same transaction (see the module docstring); locking again
    here is a no-op then, and keeps a caller that forgot from computing from a stale snapshot.
    """
    await lock_product(session, product_id)
    counted = Review.product_id == product_id, Review.status == ReviewStatus.APPROVED
    buckets: list[Any] = [
        cast(func.count().filter(Review.rating == stars), Integer).label(f"h{stars}")
        for stars in STARS
    ]
    aggregate = (
        select(
            # Always exactly one row (no GROUP BY), zeros included; the id joins it to the product.
            literal(product_id, BigInteger).label("product_id"),
            cast(func.count(), Integer).label("n"),
            cast(func.coalesce(func.sum(Review.rating), 0), Integer).label("s"),
            *buckets,
        )
        .where(*counted)
        .subquery("aggregate")
    )
    n, s = aggregate.c.n, aggregate.c.s
    statement = (
        update(Product)
        .where(Product.id == aggregate.c.product_id)
        .values(
            rating_count=n,
            rating_sum=s,
            rating_average=case(
                (n > 0, func.round(cast(s, Numeric) / n, 2)),
                else_=0,
            ),
            rating_histogram=array([aggregate.c[f"h{stars}"] for stars in STARS]),
            # A review is not an edit of the product: keep its own timestamp.
            updated_at=Product.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)
