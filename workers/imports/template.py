"""The import template: the columns a file may have, what each holds, and example rows.

Served by the `importTemplate` field (and a download link built from it) and described in the
README ("Importing products"). The column names and cell formats are the export's
(`workers.exports.columns`), so an export is a filled-in template.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from workers.exports.columns import PRODUCT_COLUMNS, format_category_path, format_images


@dataclass(frozen=True)
class TemplateColumn:
    name: str
    required: bool
    description: str


COLUMNS = (
    TemplateColumn("sku", True, "The product's key: an existing SKU updates it, a new one "
                   "creates a product. 1 to 64 letters, digits, '.', '_' or '-'."),
    TemplateColumn("name", False, "One line, 1 to 200 characters. Required for new products."),
    TemplateColumn("description", False, "Free text, line breaks kept, up to 10,000 "
                   "characters."),
    TemplateColumn("price", False, "A decimal such as 19.99 (0 to 99999999.99, cents at "
                   "most). Required for new products."),
    TemplateColumn("currency", False, "An upper-case ISO 4217 code such as USD (default USD)."),
    TemplateColumn("category", False, "A category slug (headphones) or the path of names from "
                   "the root (Audio > Headphones). Empty: no category."),
    TemplateColumn("stock", False, "A whole number, 0 to 10,000,000 (default 0)."),
    TemplateColumn("status", False, "DRAFT, PUBLISHED or ARCHIVED (default DRAFT)."),
    TemplateColumn("attributes", False, 'A JSON object such as {"color": "black"}. Empty: {}.'),
    TemplateColumn("images", False, "One url|alt per line (the alt text is optional), at most "
                   "10 http(s) URLs."),
)  # fmt: skip
assert tuple(column.name for column in COLUMNS) == PRODUCT_COLUMNS

EXAMPLE_ROWS = (
    (
        "MUG-001",
        "Travel Mug",
        "Keeps tea hot for six hours.\nDishwasher safe.",
        "19.99",
        "USD",
        format_category_path(["Kitchen", "Mugs"]),
        "40",
        "PUBLISHED",
        '{"color": "black", "capacity_ml": 350}',
        format_images([{"url": "https://example.com/mug.jpg", "alt": "The black mug"}]),
    ),
    ("HP-200", "Studio Headphones", "", "149.00", "EUR", "headphones", "5", "DRAFT", "", ""),
)


def template_csv() -> str:
    """The header and the example rows, as a CSV file (UTF-8, comma, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PRODUCT_COLUMNS)
    writer.writerows(EXAMPLE_ROWS)
    return buffer.getvalue()
