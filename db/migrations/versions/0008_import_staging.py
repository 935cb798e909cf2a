"""import staging rows: a product import's validated rows, between validation and apply

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRODUCT_STATUS = postgresql.ENUM(
    "draft", "published", "archived", name="product_status", create_type=False
)


def upgrade() -> None:
    op.create_table(
        "import_rows",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("row", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(12, 2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("status", PRODUCT_STATUS, nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("attributes", postgresql.JSONB(), nullable=True),
        sa.Column("images", postgresql.JSONB(), nullable=True),
        sa.Column("slug_base", sa.String(length=220), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "row", name="pk_import_rows"),
        prefixes=["UNLOGGED"],
    )
    op.create_index("ix_import_rows_job_id_sku", "import_rows", ["job_id", "sku"])


def downgrade() -> None:
    op.drop_index("ix_import_rows_job_id_sku", table_name="import_rows")
    op.drop_table("import_rows")
