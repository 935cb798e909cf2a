"""Product reviews. One per (user, product); only approved ones count and show publicly."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column
from db.global_ids import GlobalId


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Review(GlobalId, Base):
    node_type = "Review"
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("product_id", "user_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        # Newest approved reviews of a product: the LATERAL join of a page's first reviews.
        Index("ix_reviews_product_newest", "product_id", "status", "created_at", "id"),
        Index("ix_reviews_user", "user_id"),
        # The moderation queue: reviews of one status, oldest first.
        Index("ix_reviews_status_created", "status", "created_at", "id"),
        # A product's reviews, verified purchases first (the VERIFIED_FIRST sort).
        Index("ix_reviews_product_verified", "product_id", "verified_purchase", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[ReviewStatus] = mapped_column(
        Enum(ReviewStatus, name="review_status", values_callable=lambda e: [m.value for m in e]),
        default=ReviewStatus.APPROVED,
        server_default=ReviewStatus.APPROVED.value,
    )
    moderation_reason: Mapped[str | None] = mapped_column(String(500))
    # The author has a fulfilled order containing the product. Set when a review is written and
    # when an order is fulfilled; never unset (a fulfilled order stays fulfilled).
    verified_purchase: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
