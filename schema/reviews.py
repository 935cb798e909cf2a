"""The Review type and the public profile of its author."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Parent

from db.catalog import Product
from db.reviews import Review, ReviewStatus
from db.users import User
from resolvers.context import Info
from resolvers.dataloader import MaybeAwaitable
from resolvers.relations import REVIEW_AUTHOR, REVIEW_PRODUCT, related
from schema.node import Node

if TYPE_CHECKING:
    from schema.catalog import ProductType

# schema.catalog imports this module (Product.reviews), so the way back must be lazy.
LazyProduct = Annotated["ProductType", strawberry.lazy("schema.catalog")]

ReviewStatusEnum = strawberry.enum(
    ReviewStatus, name="ReviewStatus", description="Only approved reviews count and show publicly."
)


@strawberry.enum(description="How a product's reviews are ordered.")
class ReviewSort(enum.Enum):
    NEWEST = "NEWEST"
    VERIFIED_FIRST = "VERIFIED_FIRST"


@strawberry.type(name="PublicProfile", description="What anyone may see of a user: no email.")
class PublicProfile:
    name: str


@strawberry.type(name="Review")
class ReviewType(Node):
    rating: int = strawberry.field(description="1 to 5 stars.")
    title: str
    body: str
    status: ReviewStatusEnum  # type: ignore[valid-type]
    created_at: datetime
    updated_at: datetime
    verified_purchase: bool = strawberry.field(
        description="The author has a fulfilled order containing the product."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Review)

    @strawberry.field(graphql_type=PublicProfile | None)
    def author(self, root: Parent[Review], info: Info) -> MaybeAwaitable[User | None]:
        return related(info, root, REVIEW_AUTHOR)

    @strawberry.field(
        graphql_type=LazyProduct | None, description="Null when the product is hidden from you."
    )
    def product(self, root: Parent[Review], info: Info) -> MaybeAwaitable[Product | None]:
        return related(info, root, REVIEW_PRODUCT)

    @strawberry.field(
        description="Why the review is held or rejected: for its author and staff, else null."
    )
    def moderation_reason(self, root: Parent[Review], info: Info) -> str | None:
        viewer = info.context.user
        if viewer is None or not (viewer.id == root.user_id or viewer.role.is_staff):
            return None
        return root.moderation_reason
