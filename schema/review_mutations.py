"""Review operations: write, edit and delete your reviews; staff moderate them.

Resolvers return `db.reviews` models (or the result dataclasses of `resolvers.reviews.writes`); the
types here only declare what a client sees.
"""

from __future__ import annotations

import strawberry
from strawberry import Parent

from db.reviews import Review, ReviewStatus
from resolvers.context import Info
from resolvers.pagination import Page, PageArgs
from resolvers.results import Deleted, Outcome
from resolvers.reviews import moderation
from resolvers.reviews import writes as resolve
from schema.errors import UserErrorType
from schema.permissions import IsAuthenticated, IsStaff, require_user
from schema.relay import Connection, to_global_id
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
    value: ReviewType | None = strawberry.field(name="review")
    errors: list[UserErrorType]


@strawberry.type
class DeleteReviewPayload:
    errors: list[UserErrorType]

    @strawberry.field(description="The id of the review deleted; null when nothing was.")
    def deleted_id(self, root: Parent[Deleted]) -> strawberry.ID | None:
        return to_global_id("Review", root.deleted_id) if root.deleted_id is not None else None


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
    async def add_review(self, info: Info, input: AddReviewInput) -> Outcome[Review]:
        return await resolve.add_review(
            info.context,
            require_user(info),
            input.product_id,
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
    ) -> Outcome[Review]:
        return await resolve.update_my_review(
            info.context,
            require_user(info),
            id,
            rating=input.rating,
            title=input.title,
            body=input.body,
        )

    @strawberry.mutation(
        graphql_type=DeleteReviewPayload,
        permission_classes=[IsAuthenticated],
        description="Delete your review (staff: any review).",
    )
    async def delete_review(self, info: Info, id: strawberry.ID) -> Deleted:
        return await resolve.delete_review(info.context, require_user(info), id)

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
    ) -> Outcome[Review]:
        return await moderation.moderate_review(info.context, id, status, reason)
