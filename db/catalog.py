"""The catalog: a category tree and the products in it.

Categories keep `path`, the ids of their ancestors from the root, so ancestors, descendants and
"no cycles" are single indexed lookups instead of recursive walks. Products carry their rating
aggregate, kept exact in the transaction of every review write, so sorting and filtering by
rating read an indexed column.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, query_expression

from db.base import Base, created_at_column
from db.global_ids import GlobalId
from db.values import Money, RatingSummary

# The SKU goes in twice: as the parser splits it ("LAP-0042" -> "lap", "-0042") and squashed to
# one token ("lap0042"), so a SKU typed with or without its punctuation is found by the index.
SEARCH_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(sku, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, "
    "lower(regexp_replace(coalesce(sku, ''), '[^[:alnum:]]+', '', 'g'))), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
)


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Category(GlobalId, Base):
    node_type = "Category"
    __tablename__ = "categories"
    __table_args__ = (Index("ix_categories_path", "path", postgresql_using="gin"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    # Ancestor ids from the root down to the parent; [] for a root category.
    path: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default=text("'{}'")
    )
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Product(GlobalId, Base):
    node_type = "Product"
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("rating_count >= 0", name="rating_count_not_negative"),
        Index("ix_products_search", "search_vector", postgresql_using="gin"),
        Index(
            "ix_products_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        # Keyset orderings, each ending in the id so ties never repeat or skip a row.
        Index("ix_products_status_created", "status", "created_at", "id"),
        Index("ix_products_status_price", "status", "price", "id"),
        Index("ix_products_status_name", "status", "name", "id"),
        Index("ix_products_status_rating", "status", "rating_average", "id"),
        Index("ix_products_category_created", "category_id", "created_at", "id"),
        # The listing's totalCount: deduplicated, the narrowest index-only scan of a status.
        Index("ix_products_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    stock: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[ProductStatus] = mapped_column(
        Enum(ProductStatus, name="product_status", values_callable=lambda e: [m.value for m in e]),
        default=ProductStatus.DRAFT,
        server_default=ProductStatus.DRAFT.value,
    )
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT")
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    images: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    rating_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 0 while unrated; with rating_count it tells "no reviews" from "rated 0" (impossible: 1-5).
    rating_average: Mapped[Decimal] = mapped_column(
        Numeric(3, 2), default=Decimal("0"), server_default="0"
    )
    # Approved reviews per star, index 0 = one star.
    rating_histogram: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), default=lambda: [0] * 5, server_default=text("'{0,0,0,0,0}'")
    )
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Filled only by searches (`with_expression`): the row's relevance to the search text.
    search_rank: Mapped[float | None] = query_expression()

    @property
    def money(self) -> Money:
        return Money(self.price, self.currency)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def rating(self) -> RatingSummary:
        return RatingSummary(
            float(self.rating_average), self.rating_count, tuple(self.rating_histogram)
        )
