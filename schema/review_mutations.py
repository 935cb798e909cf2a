"""Review operations: write, edit and delete your reviews; staff moderate them.

Resolvers return `db.reviews` models (or the result dataclasses of `resolvers.reviews`); the
types here only declare what a client sees.
"""

from __future__ import annotations

import strawberry
from strawberry import Parent

from app.context import Info
from db.reviews import Review, ReviewStatus
from resolvers import review_moderation as moderation
from resolvers import reviews as resolve
from resolvers.pagination import Page, PageArgs
from schema.errors import BadUserInput, UserError
from schema.permissions import IsAuthenticated, IsStaff, require_user
from schema.relay import Connection, parse_int_id, to_global_id
from schema.reviews import ReviewStatusEnum, ReviewType


@strawberry.input
class AddReviewInput:
    product_id: strawberry.ID
    rating: int = strawberry.field(description="1 to 5 stars.")
    title: str = strawberry.field(description="1 to 120 characters.")
    body: str = strawberry.field(default="", description="At most 5000 characters.")


@strawberry.input(description="Only the fields given change.")
class UpdateReviewInput:
    rating: int | None = None
    title: str | None = None
    body: str | None = None


@strawberry.type
class ReviewPayload:
    review: ReviewType | None
    errors: list[UserError]


@strawberry.type
class DeleteReviewPayload:
    errors: list[UserError]

    @strawberry.field(description="The id of the review deleted; null when nothing was.")
    def deleted_id(self, root: Parent[resolve.DeleteResult]) -> strawberry.ID | None:
        return to_global_id("Review", root.deleted_id) if root.deleted_id is not None else None


def _key(global_id: strawberry.ID, type_name: str) -> int | None:
    """The key of a global id of `type_name`; None (NOT_FOUND) when malformed or of another type."""
    try:
        return parse_int_id(global_id, type_name)
    except BadUserInput:
        return None


@strawberry.type
class ReviewQuery:
    @strawberry.field(
        graphql_type=Connection[ReviewType],
        permission_classes=[IsStaff],
        description="Reviews in a status (PENDING by default), oldest first: staff only.",
    )
    async def reviews_to_moderate(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: ReviewStatusEnum = ReviewStatus.PENDING,  # type: ignore[valid-type]
    ) -> Page[Review]:
        return await moderation.reviews_to_moderate(info.context, PageArgs(first, after), status)

    @strawberry.field(
        graphql_type=Connection[ReviewType],
        permission_classes=[IsAuthenticated],
        description="The caller's reviews, whatever their status, newest first.",
    )
    async def my_reviews(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Page[Review]:
        return await resolve.my_reviews(info.context, require_user(info), PageArgs(first, after))


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(
        graphql_type=ReviewPayload,
        permission_classes=[IsAuthenticated],
        description=(
            "Review a published product, once per product (customers only: staff moderate). "
            "Reviews with links, shouting or blocked words wait for a moderator as PENDING."
        ),
    )
    async def add_review(self, info: Info, input: AddReviewInput) -> resolve.ReviewResult:
        return await resolve.add_review(
            info.context,
            require_user(info),
            _key(input.product_id, "Product"),
            input.rating,
            input.title,
            input.body,
        )

    @strawberry.mutation(
        graphql_type=ReviewPayload,
        permission_classes=[IsAuthenticated],
        description="Edit your review; the edit is checked again like a new review.",
    )
    async def update_my_review(
        self, info: Info, id: strawberry.ID, input: UpdateReviewInput
    ) -> resolve.ReviewResult:
        return await resolve.update_my_review(
            info.context,
            require_user(info),
            _key(id, "Review"),
            rating=input.rating,
            title=input.title,
            body=input.body,
        )

    @strawberry.mutation(
        graphql_type=DeleteReviewPayload,
        permission_classes=[IsAuthenticated],
        description="Delete your review (staff: any review).",
    )
    async def delete_review(self, info: Info, id: strawberry.ID) -> resolve.DeleteResult:
        return await resolve.delete_review(info.context, require_user(info), _key(id, "Review"))

    @strawberry.mutation(
        graphql_type=ReviewPayload,
        permission_classes=[IsStaff],
        description="Approve, reject or hold a review (staff only); REJECTED needs a reason.",
    )
    async def moderate_review(
        self,
        info: Info,
        id: strawberry.ID,
        status: ReviewStatusEnum,  # type: ignore[valid-type]
        reason: str | None = None,
    ) -> resolve.ReviewResult:
        return await moderation.moderate_review(info.context, _key(id, "Review"), status, reason)
