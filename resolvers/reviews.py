"""Review writes: adding, editing and deleting reviews, and the caller's own review list.

Each mutation validates its input first (`resolvers.review_input`) and returns typed
`UserError`s without writing; otherwise it writes in one transaction that also recomputes the
product's rating (`resolvers.ratings`: lock the product, write, refresh). Ids the caller may not
act on are NOT_FOUND, exactly like ids that never existed.

New and edited reviews go live (APPROVED) unless `moderation_hold` (`resolvers.review_screening`)
finds a link, shouting or a banned word: those wait as PENDING, seen only by their author and
staff, until a moderator decides (`resolvers.review_moderation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from db.reviews import Review, ReviewStatus
from db.users import User
from resolvers.loaders import NEWEST_REVIEWS
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.ratings import lock_product, refresh_rating
from resolvers.review_input import (
    clean_body,
    clean_title,
    invalid_body,
    invalid_title,
    rating_errors,
)
from resolvers.review_screening import moderation_hold
from schema.errors import ErrorCode, Forbidden, UserError, not_found, user_error

DUPLICATE_REVIEW_CONSTRAINT = "uq_reviews_product_id_user_id"


@dataclass
class ReviewResult:
    review: Review | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass
class DeleteResult:
    deleted_id: int | None = None
    errors: list[UserError] = field(default_factory=list)


def _already_reviewed() -> UserError:
    return user_error(
        ErrorCode.ALREADY_REVIEWED,
        "You have already reviewed this product; edit your review instead.",
        "productId",
    )


def _is_duplicate_review(error: IntegrityError) -> bool:
    """Whether the error is the one-review-per-user-and-product unique index refusing a row."""
    original = error.orig
    if getattr(original, "sqlstate", None) != "23505":
        return False
    # The adapted DB-API error wraps asyncpg's, which names the constraint.
    constraint = getattr(getattr(original, "__cause__", None), "constraint_name", None)
    return constraint in (None, DUPLICATE_REVIEW_CONSTRAINT)


async def locked_review(
    session: AsyncSession, review_id: int, *conditions: ColumnElement[bool]
) -> Review | None:
    """The review, locked along with its product (product first: see resolvers.ratings)."""
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
    ctx: Context, user: User, product_id: int | None, rating: int, title: str, body: str
) -> ReviewResult:
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
    if product_id is None:
        errors.append(not_found("product", "productId"))
    if errors or cleaned_title is None or cleaned_body is None or product_id is None:
        return ReviewResult(errors=errors)

    hold = moderation_hold(cleaned_title, cleaned_body, ctx.settings.review_banned_words)
    async with ctx.sessions() as session:
        # Customers see published products only, so that is all they may review.
        if not await lock_product(session, product_id, published_only=True):
            return ReviewResult(errors=[not_found("product", "productId")])
        review = Review(
            product_id=product_id,
            user_id=user.id,
            rating=rating,
            title=cleaned_title,
            body=cleaned_body,
            status=ReviewStatus.PENDING if hold else ReviewStatus.APPROVED,
            moderation_reason=hold,
        )
        session.add(review)
        try:
            await session.flush()
        except IntegrityError as error:
            # The unique index decides, so two concurrent requests cannot both add a review.
            if not _is_duplicate_review(error):
                raise
            await session.rollback()
            return ReviewResult(errors=[_already_reviewed()])
        await refresh_rating(session, product_id)
        await session.commit()
    return ReviewResult(review)


async def update_my_review(
    ctx: Context,
    user: User,
    review_id: int | None,
    *,
    rating: int | None,
    title: str | None,
    body: str | None,
) -> ReviewResult:
    errors = rating_errors(rating) if rating is not None else []
    cleaned_title = clean_title(title) if title is not None else None
    if title is not None and cleaned_title is None:
        errors.append(invalid_title())
    cleaned_body = clean_body(body) if body is not None else None
    if body is not None and cleaned_body is None:
        errors.append(invalid_body())
    if review_id is None:
        errors.append(not_found("review"))
    if errors or review_id is None:
        return ReviewResult(errors=errors)

    async with ctx.sessions() as session:
        review = await locked_review(session, review_id, Review.user_id == user.id)
        if review is None:
            return ReviewResult(errors=[not_found("review")])
        if rating is None and cleaned_title is None and cleaned_body is None:
            return ReviewResult(review)
        if rating is not None:
            review.rating = rating
        if cleaned_title is not None:
            review.title = cleaned_title
        if cleaned_body is not None:
            review.body = cleaned_body
        hold = moderation_hold(review.title, review.body, ctx.settings.review_banned_words)
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
    return ReviewResult(review)


async def delete_review(ctx: Context, user: User, review_id: int | None) -> DeleteResult:
    if review_id is None:
        return DeleteResult(errors=[not_found("review")])
    # Authors delete their own reviews; staff delete any. Others' reviews are NOT_FOUND.
    conditions = [] if user.role.is_staff else [Review.user_id == user.id]
    async with ctx.sessions() as session:
        review = await locked_review(session, review_id, *conditions)
        if review is None:
            return DeleteResult(errors=[not_found("review")])
        await session.delete(review)
        await session.flush()
        await refresh_rating(session, review.product_id)
        await session.commit()
    return DeleteResult(deleted_id=review_id)


async def my_reviews(ctx: Context, user: User, args: PageArgs) -> Page[Review]:
    """The caller's reviews whatever their status, newest first."""
    statement = select(Review).where(Review.user_id == user.id)
    return await paginate(ctx.readers, statement, NEWEST_REVIEWS, args)
