"""SKUs in the search vector as one token; an index for the moderation queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(sku, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
)
NEW_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(sku, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, "
    "lower(regexp_replace(coalesce(sku, ''), '[^[:alnum:]]+', '', 'g'))), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
)


def _replace_vector(expression: str) -> None:
    # A generated column's expression cannot be altered before PostgreSQL 17: rebuild it.
    op.drop_index("ix_products_search", table_name="products", postgresql_using="gin")
    op.drop_column("products", "search_vector")
    op.add_column(
        "products",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(expression, persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_products_search", "products", ["search_vector"], unique=False, postgresql_using="gin"
    )


def upgrade() -> None:
    _replace_vector(NEW_VECTOR)
    op.create_index(
        "ix_reviews_status_created", "reviews", ["status", "created_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_reviews_status_created", table_name="reviews")
    _replace_vector(OLD_VECTOR)
