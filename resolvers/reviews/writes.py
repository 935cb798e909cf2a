"""Review writes: adding, editing and deleting reviews, and the caller's own review list.

Each mutation validates its input first (`resolvers.reviews.input`) and returns typed
`UserError`s without writing; otherwise it writes in one transaction that also recomputes the
product's rating (`resolvers.reviews.ratings`: lock the product, write, refresh). Ids the caller
may not act on are NOT_FOUND, exactly like ids that never existed.

New and edited reviews go live (APPROVED) unless `moderation_hold` (`resolvers.reviews.screening`)
finds a link, shouting or a banned word: those wait as PENDING, seen only by their author and
staff, until a moderator decides (`resolvers.reviews.moderation`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.constraints import insert_unique
from db.reviews import Review, ReviewStatus
from db.users import User
from resolvers.context import Context
from resolvers.errors import ErrorCode, Forbidden, UserError, not_found, user_error
from resolvers.ids import key_of
from resolvers.orderings import NEWEST_REVIEWS
from resolvers.orders.purchases import bought
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.results import Deleted, Outcome
from resolvers.reviews.input import (
    clean_body,
    clean_title,
    invalid_body,
    invalid_title,
    rating_errors,
)
from resolvers.reviews.ratings import lock_product, refresh_rating
from resolvers.reviews.screening import moderation_hold


def _already_reviewed() -> UserError:
    return user_error(
        ErrorCode.ALREADY_REVIEWED,
        "You have already reviewed this product; edit your review instead.",
        "productId",
    )


async def locked_review(
    session: AsyncSession, review_id: int, *conditions: ColumnElement[bool]
) -> Review | None:
    """The review, locked along with its product (product first: see resolvers.reviews.ratings)."""
    product_id = (
        await session.execute(select(Review.product_id).where(Review.id == review_id, *conditions))
    ).scalar_one_or_none()
    if product_id is None:
        return None
    await lock_product(session, product_id)
    # Read again under the lock: the review may have changed or gone while we waited.
    return (
        await session.execute(
            select(Review).where(Review.id == review_id, *conditions).with_for_update()
        )
    ).scalar_one_or_none()


# --- mutations ----------------------------------------------------------------------------


async def add_review(
    ctx: Context, user: User, product_id: str, rating: int, title: str, body: str
) -> Outcome[Review]:
    product_key = key_of(product_id, "Product")
    if user.role.is_staff:
        raise Forbidden(
            "Staff accounts moderate reviews and cannot write them; use a customer account."
        )
    errors = rating_errors(rating)
    cleaned_title = clean_title(title)
    if cleaned_title is None:
        errors.append(invalid_title())
    cleaned_body = clean_body(body)
    if cleaned_body is None:
        errors.append(invalid_body())
    if product_key is None:
        errors.append(not_found("product", "productId"))
    if errors or cleaned_title is None or cleaned_body is None or product_key is None:
        return Outcome.refused(*errors)

    hold = moderation_hold(cleaned_title, cleaned_body, ctx.config.review_banned_words)
    async with ctx.writer() as session:
        # Customers see published products only, so that is all they may review.
        if not await lock_product(session, product_key, published_only=True):
            return Outcome.refused(not_found("product", "productId"))
        review = Review(
            product_id=product_key,
            user_id=user.id,
            rating=rating,
            title=cleaned_title,
            body=cleaned_body,
            status=ReviewStatus.PENDING if hold else ReviewStatus.APPROVED,
            moderation_reason=hold,
            verified_purchase=await bought(session, user.id, product_key),
        )
        # The unique index decides, so two concurrent requests cannot both add a review.
        if await insert_unique(session, review) is not None:
            await session.rollback()
            return Outcome.refused(_already_reviewed())
        await refresh_rating(session, product_key)
        await session.commit()
    return Outcome(review)


async def update_my_review(
    ctx: Context,
    user: User,
    review_id: str,
    *,
    rating: int | None,
    title: str | None,
    body: str | None,
) -> Outcome[Review]:
    key = key_of(review_id, "Review")
    errors = rating_errors(rating) if rating is not None else []
    cleaned_title = clean_title(title) if title is not None else None
    if title is not None and cleaned_title is None:
        errors.append(invalid_title())
    cleaned_body = clean_body(body) if body is not None else None
    if body is not None and cleaned_body is None:
        errors.append(invalid_body())
    if key is None:
        errors.append(not_found("review"))
    if errors or key is None:
        return Outcome.refused(*errors)

    async with ctx.writer() as session:
        review = await locked_review(session, key, Review.user_id == user.id)
        if review is None:
            return Outcome.refused(not_found("review"))
        if rating is None and cleaned_title is None and cleaned_body is None:
            return Outcome(review)
        if rating is not None:
            review.rating = rating
        if cleaned_title is not None:
            review.title = cleaned_title
        if cleaned_body is not None:
            review.body = cleaned_body
        hold = moderation_hold(review.title, review.body, ctx.config.review_banned_words)
        if hold:
            review.status, review.moderation_reason = ReviewStatus.PENDING, hold
        elif review.status is ReviewStatus.REJECTED:
            # An edit must not slip a rejected review past the moderator: it queues again.
            review.status = ReviewStatus.PENDING
            review.moderation_reason = "Edited after rejection: waiting for a moderator."
        else:
            review.status, review.moderation_reason = ReviewStatus.APPROVED, None
        await session.flush()
        await session.refresh(review)
        await refresh_rating(session, review.product_id)
        await session.commit()
    return Outcome(review)


async def delete_review(ctx: Context, user: User, review_id: str) -> Deleted:
    key = key_of(review_id, "Review")
    if key is None:
        return Deleted.refused(not_found("review"))
    # Authors delete their own reviews; staff delete any. Others' reviews are NOT_FOUND.
    conditions = [] if user.role.is_staff else [Review.user_id == user.id]
    async with ctx.writer() as session:
        review = await locked_review(session, key, *conditions)
        if review is None:
            return Deleted.refused(not_found("review"))
        await session.delete(review)
        await session.flush()
        await refresh_rating(session, review.product_id)
        await session.commit()
    return Deleted(key)


async def my_reviews(ctx: Context, user: User, args: PageArgs) -> Page[Review]:
    """The caller's reviews whatever their status, newest first."""
    statement = select(Review).where(Review.user_id == user.id)
    return await paginate(ctx.readers, statement, NEWEST_REVIEWS, args)
