"""One row of an import file → a staging row, with every problem of the row.

Cells become values here (numbers, JSON, images, status), then go through
`db.catalog_rules.check_product_fields`: exactly the rules and messages of createProduct and
updateProduct. What needs the whole file or the catalog (the category exists, the SKU appears
once, a new product has a name and a price) is decided set-based afterwards
(`workers.imports.staging`).

Cells: formula neutralising is undone first (`workers.exports.neutralise`). A column missing
from the file leaves the products' values as they are (new products get the defaults); an
empty cell does the same for sku, name, price, currency, stock and status, and means "none"
for description (""), category (no category), attributes ({}) and images ([]).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import orjson

from db.catalog import ProductStatus
from db.catalog_rules import (
    INVALID_INPUT,
    INVALID_PRICE,
    PRICE_PROBLEM,
    PRODUCT_SLUG_LENGTH,
    STOCK_PROBLEM,
    ImageData,
    ProductFields,
    check_product_fields,
    image_rows,
)
from db.slugs import slugify
from workers.exports.columns import format_category_path, parse_category_path, parse_images
from workers.exports.neutralise import unneutralise
from workers.imports.reader import RawRow

MISSING_VALUE = "MISSING_VALUE"
_STATUSES = {status.name: status for status in ProductStatus}
# What the import stages per row, in the column order of `import_rows` (COPY).
STAGING_COLUMNS = (
    "job_id",
    "row",
    "sku",
    "valid",
    "name",
    "description",
    "price",
    "currency",
    "stock",
    "status",
    "category",
    "category_id",
    "attributes",
    "images",
    "slug_base",
)

ErrorRow = tuple[int | None, str | None, str, str]


@dataclass(frozen=True, slots=True)
class CheckedRow:
    record: tuple[Any, ...]  # a row of `import_rows`, in STAGING_COLUMNS order
    errors: list[ErrorRow]


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        value = _decimal(text)
        return int(value) if value is not None and value == value.to_integral_value() else None


def _json(text: str) -> tuple[Any, bool]:
    try:
        return orjson.loads(text), True
    except orjson.JSONDecodeError:
        return None, False


@lru_cache(maxsize=4096)
def _category_key(cell: str) -> str:
    """A category cell as staged (a file names few categories, on many rows)."""
    return format_category_path(parse_category_path(cell))


def _column(field: str) -> str:
    """The file's column of an input field ("images.2.url" → "images")."""
    return field.split(".", 1)[0]


def check_row(job_id: int, raw: RawRow) -> CheckedRow:
    """The staging record of `raw` and its problems (reading problems included)."""
    number = raw.number
    errors: list[ErrorRow] = [
        (number, problem.column, problem.code, problem.message) for problem in raw.problems
    ]
    # Only a cell starting with a quote can be neutralised: the others are taken as they are.
    cells = {
        name: unneutralise(value) if value[:1] == "'" else value
        for name, value in raw.cells.items()
    }
    # The cells meaning "set this value", stripped; absent or blank ones are left out.
    stripped = {name: value.strip() for name, value in cells.items()}
    given = {name: value for name, value in stripped.items() if value}.get

    price = stock = attributes = None
    price_text = given("price")
    if price_text is not None:
        price = _decimal(price_text)
        if price is None:
            errors.append((number, "price", INVALID_PRICE, PRICE_PROBLEM))
    stock_text = given("stock")
    if stock_text is not None:
        stock = _integer(stock_text)
        if stock is None:
            errors.append((number, "stock", INVALID_INPUT, STOCK_PROBLEM))
    status = None
    status_text = given("status")
    if status_text is not None:
        status = _STATUSES.get(status_text.upper())
        if status is None:
            errors.append(
                (number, "status", INVALID_INPUT, "Status must be DRAFT, PUBLISHED or ARCHIVED.")
            )
    if "attributes" in cells:
        attributes_text = stripped["attributes"]
        attributes, ok = _json(attributes_text) if attributes_text else ({}, True)
        if not ok:
            attributes = None
            errors.append(
                (
                    number,
                    "attributes",
                    INVALID_INPUT,
                    'Attributes must be a JSON object, e.g. {"color": "black"}.',
                )
            )
    images = None
    if "images" in cells:
        images = [ImageData(url=i["url"], alt=i["alt"]) for i in parse_images(cells["images"])]

    sku_text = given("sku")
    if sku_text is None:
        errors.append((number, "sku", MISSING_VALUE, "Every row needs a SKU."))
    fields, problems = check_product_fields(
        ProductFields(
            name=given("name"),
            sku=sku_text,
            price=price,
            currency=given("currency"),
            stock=stock,
            description=cells.get("description"),
            attributes=attributes,
            images=images,
        )
    )
    errors += [(number, _column(p.field), p.code, p.message) for p in problems]
    category = cells.get("category")
    record = (
        job_id,
        number,
        fields.sku,
        not errors,
        fields.name,
        fields.description,
        fields.price,
        fields.currency,
        stock,
        status.value if status is not None else None,
        _category_key(category) if category is not None else None,
        None,
        orjson.dumps(attributes).decode() if attributes is not None else None,
        orjson.dumps(image_rows(fields.images)).decode() if fields.images is not None else None,
        slugify(fields.name, PRODUCT_SLUG_LENGTH, fallback="product") if fields.name else None,
    )
    return CheckedRow(record, errors)
