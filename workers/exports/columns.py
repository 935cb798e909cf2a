"""The product file format shared by export and import (the import template).

Columns, in this order: sku, name, description, price, currency, category, stock, status,
attributes, images. Cell formats (docs/jobs.md has the same table for people):

- price: a plain decimal ("19.99"), currency an ISO code ("USD");
- category: the path of category names from the root, joined by " > " ("Audio > Headphones");
  empty for none;
- status: DRAFT, PUBLISHED or ARCHIVED;
- attributes: a JSON object;
- images: one `url|alt` entry per image (the URL up to the first "|", the alt text after it;
  "url" alone means no alt text), entries joined by a line break. URLs hold no whitespace and
  alt texts are one line, so neither separator is ambiguous.

Text cells go through `workers.exports.neutralise` on the way out.
"""

from __future__ import annotations

PRODUCT_COLUMNS = (
    "sku",
    "name",
    "description",
    "price",
    "currency",
    "category",
    "stock",
    "status",
    "attributes",
    "images",
)

CATEGORY_SEPARATOR = " > "
IMAGE_SEPARATOR = "\n"
IMAGE_ALT_SEPARATOR = "|"


def format_images(images: list[dict[str, str]]) -> str:
    entries = []
    for image in images:
        alt = image.get("alt") or ""
        entries.append(f"{image['url']}{IMAGE_ALT_SEPARATOR}{alt}" if alt else image["url"])
    return IMAGE_SEPARATOR.join(entries)


# `format_images` as SQL over `products.images` (the export reads cells ready-made: decoding
# and re-encoding JSON in Python would cost more than the rest of a row). Keep the two in step:
# tests/unit/test_product_file_format.py checks they agree.
IMAGES_CELL_SQL = """coalesce((
  SELECT string_agg(
    CASE WHEN coalesce(image->>'alt', '') = '' THEN image->>'url'
         ELSE (image->>'url') || '|' || (image->>'alt') END,
    E'\\n' ORDER BY position)
  FROM jsonb_array_elements(products.images) WITH ORDINALITY AS entry(image, position)
), '')"""


def parse_images(cell: str) -> list[dict[str, str]]:
    """The images of a cell (the inverse of `format_images`); validation is the caller's."""
    images = []
    for line in cell.replace("\r\n", "\n").split(IMAGE_SEPARATOR):
        entry = line.strip()
        if not entry:
            continue
        url, _, alt = entry.partition(IMAGE_ALT_SEPARATOR)
        images.append({"url": url.strip(), "alt": alt.strip()})
    return images


def format_category_path(names: list[str]) -> str:
    return CATEGORY_SEPARATOR.join(names)


def parse_category_path(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(CATEGORY_SEPARATOR.strip()) if part.strip()]
