"""Review moderation by staff: deciding a review's status, and the moderation queue.

Both are staff only (the schema checks). Reviews reach the queue as PENDING when
`resolvers.reviews.screening` holds them, or when their author edits them after a rejection.
"""

from __future__ import annotations

from sqlalchemy import select

from db.reviews import Review, ReviewStatus
from resolvers.context import Context
from resolvers.errors import UserError, invalid_input, not_found
from resolvers.ids import key_of
from resolvers.orderings import OLDEST_REVIEWS
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.results import Outcome
from resolvers.reviews.input import clean_reason, invalid_reason
from resolvers.reviews.ratings import refresh_rating
from resolvers.reviews.writes import locked_review


async def moderate_review(
    ctx: Context, review_id: str, status: ReviewStatus, reason: str | None
) -> Outcome[Review]:
    """Staff only (the schema checks): set a review's status, with a reason for the author."""
    key = key_of(review_id, "Review")
    errors: list[UserError] = []
    cleaned_reason = clean_reason(reason) if reason is not None else ""
    if cleaned_reason is None:
        errors.append(invalid_reason())
    elif not cleaned_reason and status is ReviewStatus.REJECTED:
        errors.append(
            invalid_input("Say why the review is rejected: its author sees it.", "reason")
        )
    if key is None:
        errors.append(not_found("review"))
    if errors or key is None:
        return Outcome.refused(*errors)

    async with ctx.writer() as session:
        review = await locked_review(session, key)
        if review is None:
            return Outcome.refused(not_found("review"))
        review.status = status
        review.moderation_reason = cleaned_reason or None
        await session.flush()
        await session.refresh(review)
        await refresh_rating(session, review.product_id)
        await session.commit()
    return Outcome(review)


async def reviews_to_moderate(ctx: Context, args: PageArgs, status: ReviewStatus) -> Page[Review]:
    """Reviews in `status`, oldest first: the moderation queue (staff only, the schema checks)."""
    statement = select(Review).where(Review.status == status)
    return await paginate(ctx.readers, statement, OLDEST_REVIEWS, args)
