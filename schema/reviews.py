"""The Review type and the public profile of its author."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import Parent

from app.context import Info
from db.reviews import Review, ReviewStatus
from db.users import User
from schema.node import Node
from schema.relay import to_global_id

ReviewStatusEnum = strawberry.enum(
    ReviewStatus, name="ReviewStatus", description="Only approved reviews count and show publicly."
)


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

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Review)

    @strawberry.field
    def id(self, root: Parent[Review]) -> strawberry.ID:
        return to_global_id("Review", root.id)

    @strawberry.field(graphql_type=PublicProfile | None)
    async def author(self, root: Parent[Review], info: Info) -> User | None:
        return await info.context.loaders.user_by_id.load(root.user_id)
