"""The product import's staging rows: every row of a file, validated, waiting to be applied.

An import validates its file in batches; each batch's rows land here (by COPY) in the same
transaction as the batch's errors and the job's checkpoint, so a worker killed mid-file
resumes after the last committed batch. The apply step then changes the catalog from these rows
in one set-based transaction and deletes them. UNLOGGED: nothing here is the truth (the
uploaded file is), and a crash of PostgreSQL itself empties the table, which the import notices
(its checkpoint counts the rows it staged) and answers by validating again from the start.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Enum, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.catalog import ProductStatus


class ImportRow(Base):
    __tablename__ = "import_rows"
    __table_args__ = (
        Index("ix_import_rows_job_id_sku", "job_id", "sku"),
        {"prefixes": ["UNLOGGED"]},
    )

    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The spreadsheet row (the header is row 1).
    row: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Cleaned; None when the row's SKU itself was unusable.
    sku: Mapped[str | None] = mapped_column(String(64))
    # False: the row has errors (recorded in job_errors) and is not applied.
    valid: Mapped[bool] = mapped_column(Boolean)
    # The product's values, cleaned; None: the file leaves the value as it is (or the default).
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    stock: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ProductStatus | None] = mapped_column(
        Enum(
            ProductStatus,
            name="product_status",
            values_callable=lambda e: [m.value for m in e],
            create_type=False,
        )
    )
    # The category cell (a slug or a path "A > B"); "" means no category; None: not given.
    category: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(BigInteger)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    images: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB)
    # The slug a new product would start from (slugify of its name).
    slug_base: Mapped[str | None] = mapped_column(String(220))
