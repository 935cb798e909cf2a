"""Review moderation by staff: deciding a review's status, and the moderation queue.

Both are staff only (the schema checks). Reviews reach the queue as PENDING when
`resolvers.review_screening` holds them, or when their author edits them after a rejection.
"""

from __future__ import annotations

from sqlalchemy import select

from app.context import Context
from db.reviews import Review, ReviewStatus
from resolvers.pagination import Page, PageArgs, SortKey, datetime_key, paginate
from resolvers.ratings import refresh_rating
from resolvers.review_input import MAX_REASON_LENGTH, clean_multiline
from resolvers.reviews import ReviewResult, locked_review
from schema.errors import ErrorCode, UserError, not_found, user_error

OLDEST_REVIEWS: list[SortKey[Review]] = [
    datetime_key(Review.created_at, lambda r: r.created_at),
    SortKey(Review.id, lambda r: r.id),
]


async def moderate_review(
    ctx: Context, review_id: int | None, status: ReviewStatus, reason: str | None
) -> ReviewResult:
    """Staff only (the schema checks): set a review's status, with a reason for the author."""
    errors: list[UserError] = []
    cleaned_reason = clean_multiline(reason, MAX_REASON_LENGTH) if reason is not None else ""
    if cleaned_reason is None:
        errors.append(
            user_error(
                ErrorCode.INVALID_INPUT,
                f"Reason must be at most {MAX_REASON_LENGTH} characters, "
                "without control characters.",
                "reason",
            )
        )
    elif not cleaned_reason and status is ReviewStatus.REJECTED:
        errors.append(
            user_error(
                ErrorCode.INVALID_INPUT,
                "Say why the review is rejected: its author sees it.",
                "reason",
            )
        )
    if review_id is None:
        errors.append(not_found("review"))
    if errors or review_id is None:
        return ReviewResult(errors=errors)

    async with ctx.sessions() as session:
        review = await locked_review(session, review_id)
        if review is None:
            return ReviewResult(errors=[not_found("review")])
        review.status = status
        review.moderation_reason = cleaned_reason or None
        await session.flush()
        await session.refresh(review)
        await refresh_rating(session, review.product_id)
        await session.commit()
    return ReviewResult(review)


async def reviews_to_moderate(ctx: Context, args: PageArgs, status: ReviewStatus) -> Page[Review]:
    """Reviews in `status`, oldest first: the moderation queue (staff only, the schema checks)."""
    statement = select(Review).where(Review.status == status)
    return await paginate(ctx.readers, statement, OLDEST_REVIEWS, args)
