"""Catalog rules: the limits of product and category fields and the checks of their values
(SKUs, money, stock, URLs, JSON attributes), as pure functions on values.

One implementation for every writer: the catalog mutations (`resolvers.catalog`) and the
product import (`workers.imports`) both call `check_product_fields`, so a row of a file and a
mutation input are held to exactly the same rules and messages. It lives in `db/` because both
layers may import it; it reads no database.

Each check returns the cleaned value or None (or a message), so a caller can collect every
problem of an input before it touches the database. Text goes through `db.text`, slugs
through `db.slugs`.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from db.text import clean_line, clean_multiline

CATEGORY_NAME_LENGTH = 100
CATEGORY_SLUG_LENGTH = 120
PRODUCT_NAME_LENGTH = 200
PRODUCT_SLUG_LENGTH = 220
MAX_SKU_LENGTH = 64
SKU_PATTERN = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_SKU_LENGTH}}}")
MAX_DESCRIPTION_LENGTH = 10_000
# Prices are Numeric(12, 2): the largest they hold (for writes and for filters alike).
MAX_PRICE = Decimal("99999999.99")
CENT = Decimal("0.01")
MAX_STOCK = 10_000_000
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTES_BYTES = 16 * 1024
MAX_IMAGES = 10
MAX_URL_LENGTH = 2048
MAX_ALT_LENGTH = 300

# ISO 4217 codes we sell in, with their minor units. Currencies with three minor units (BHD,
# KWD, OMR, JOD, TND, ...) are left out on purpose: prices are stored as Numeric(12, 2).
# fmt: off
_CENTS = frozenset({
    "AED", "ARS", "AUD", "BDT", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK", "EGP",
    "EUR", "GBP", "GEL", "HKD", "HUF", "IDR", "ILS", "INR", "KES", "KZT", "LKR", "MAD", "MXN",
    "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "SAR", "SEK",
    "SGD", "THB", "TRY", "TWD", "UAH", "USD", "UYU", "ZAR",
})
# fmt: on
_WHOLE = frozenset({"CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND", "XAF", "XOF"})
CURRENCY_DECIMALS: dict[str, int] = {**dict.fromkeys(_CENTS, 2), **dict.fromkeys(_WHOLE, 0)}

# --- SKUs -------------------------------------------------------------------------------


def clean_sku(raw: str) -> str | None:
    sku = raw.strip()
    return sku.upper() if SKU_PATTERN.fullmatch(sku) else None


# --- money and stock ----------------------------------------------------------------------


def clean_price(value: Decimal) -> Decimal | None:
    """0 to MAX_PRICE with at most two decimal places, quantized to cents; else None."""
    if not value.is_finite() or value < 0 or value > MAX_PRICE:
        return None
    try:
        cents = value.quantize(CENT)
    except InvalidOperation:
        return None
    if cents != value:
        return None
    return abs(cents) if cents.is_zero() else cents  # "-0" is 0.00, not -0.00


def currency_problem(price: Decimal, currency: str) -> str | None:
    """Why `price` cannot be in `currency` (e.g. JPY has no cents), or None."""
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    if decimals == 0 and price != price.to_integral_value():
        return f"{currency} prices are whole numbers."
    return None


def clean_currency(raw: str) -> str | None:
    return raw if raw in CURRENCY_DECIMALS else None


def is_stock(value: int) -> bool:
    return 0 <= value <= MAX_STOCK


# --- URLs ---------------------------------------------------------------------------------


def _url_refused(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] == "C"


_URL_REFUSED_ASCII = frozenset(chr(code) for code in range(128) if _url_refused(chr(code)))
# The common shape, accepted without urlsplit: a lower-case http(s) scheme, a plain host name
# (no user info, port or brackets), then printable ASCII. Every URL it matches, the full check
# below accepts too (urlsplit's netloc ends at the first "/", "?" or "#"); anything else takes
# the full check.
_PLAIN_WEB_URL = re.compile(r"https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?:[/?#][!-~]*)?")


def is_web_url(raw: str) -> bool:
    """An absolute http(s) URL with a host: no javascript:, data:, relative or spaced URLs."""
    if not raw or len(raw) > MAX_URL_LENGTH:
        return False
    if _PLAIN_WEB_URL.fullmatch(raw):
        return True
    chars = set(raw)
    if raw.isascii():
        if not chars.isdisjoint(_URL_REFUSED_ASCII):
            return False
    elif any(_url_refused(char) for char in chars):
        return False
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


# --- JSON ---------------------------------------------------------------------------------


# An upper bound of the JSON size of a value `_json_scan` cannot bound (the full encoding decides).
_UNBOUNDED = 1 << 62


def _json_scan(value: Any, depth: int = 0) -> tuple[str | None, int]:
    """What PostgreSQL's JSONB would refuse: NUL, lone surrogates, NaN and infinities; and
    an upper bound of the bytes of `json.dumps(value, ensure_ascii=False)` (a character takes
    at most 6 bytes, as an escape), so that small attributes need no encoding to be measured."""
    if depth > 20:
        return "nests too deeply", 0
    kind = type(value)
    if isinstance(value, str):
        if "\x00" in value or (
            not value.isascii() and any(unicodedata.category(c) == "Cs" for c in set(value))
        ):
            return "holds a NUL or an invalid character", 0
        return None, 6 * len(value) + 2
    if value is None or kind is bool:
        return None, 5
    if kind is int:
        return None, value.bit_length() // 3 + 2  # decimal digits and a sign
    if isinstance(value, float) and not math.isfinite(value):
        return "holds a number that is not finite", 0
    if kind is float:
        return None, 32
    size = 2
    if isinstance(value, dict):
        for key, item in value.items():
            problem, key_size = _json_scan(key, depth + 1)
            if problem:
                return problem, 0
            problem, item_size = _json_scan(item, depth + 1)
            if problem:
                return problem, 0
            # json.dumps writes a non-string key as a string of its own making.
            size += (key_size if type(key) is str else _UNBOUNDED) + item_size + 4
        return None, size
    if isinstance(value, list):
        for item in value:
            problem, item_size = _json_scan(item, depth + 1)
            if problem:
                return problem, 0
            size += item_size + 2
        return None, size
    return None, _UNBOUNDED


def attributes_problem(value: Any) -> str | None:
    """Why `value` cannot be a product's attributes, or None."""
    if not isinstance(value, dict):
        return 'Attributes must be a JSON object, e.g. {"color": "black"}.'
    if len(value) > MAX_ATTRIBUTES:
        return f"Attributes may have at most {MAX_ATTRIBUTES} keys."
    if any(not key.strip() for key in value):
        return "Attribute names must not be empty."
    problem, size_bound = _json_scan(value)
    if problem:
        return f"Attributes {problem}."
    if (
        size_bound > MAX_ATTRIBUTES_BYTES
        and len(json.dumps(value, ensure_ascii=False).encode()) > MAX_ATTRIBUTES_BYTES
    ):
        return f"Attributes may take at most {MAX_ATTRIBUTES_BYTES // 1024} KiB as JSON."
    return None


# --- a product's fields, all together ---------------------------------------------------------

# The codes of `Problem`s: values of `resolvers.errors.ErrorCode`, which maps them for clients.
INVALID_INPUT = "INVALID_INPUT"
INVALID_PRICE = "INVALID_PRICE"
INVALID_CURRENCY = "INVALID_CURRENCY"
INVALID_URL = "INVALID_URL"

PRICE_PROBLEM = f"Price must be between 0 and {MAX_PRICE}, with at most 2 decimal places."
STOCK_PROBLEM = f"Stock must be between 0 and {MAX_STOCK}."
DESCRIPTION_PROBLEM = (
    f"Description must be at most {MAX_DESCRIPTION_LENGTH} characters, without control characters."
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one field: `field` is the input field ("price", "images.2.url")."""

    field: str
    code: str
    message: str


@dataclass(frozen=True)
class ImageData:
    url: str
    alt: str = ""


@dataclass(frozen=True)
class ProductFields:
    """A product's own values, None where not given (left as is, or the default)."""

    name: str | None = None
    sku: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    stock: int | None = None
    description: str | None = None
    attributes: Any = None
    images: list[ImageData] | None = None


def _image_problems(images: list[ImageData]) -> tuple[list[ImageData], list[Problem]]:
    problems: list[Problem] = []
    if len(images) > MAX_IMAGES:
        problems.append(Problem("images", INVALID_INPUT, f"At most {MAX_IMAGES} images."))
    cleaned = []
    for index, image in enumerate(images[:MAX_IMAGES]):
        if not is_web_url(image.url):
            problems.append(
                Problem(
                    f"images.{index}.url",
                    INVALID_URL,
                    f"Image URLs must be absolute http(s) URLs of at most {MAX_URL_LENGTH} "
                    "characters.",
                )
            )
        alt = clean_line(image.alt, MAX_ALT_LENGTH) if image.alt.strip() else ""
        if alt is None:
            problems.append(
                Problem(
                    f"images.{index}.alt",
                    INVALID_INPUT,
                    f"Alt text must be at most {MAX_ALT_LENGTH} printable characters.",
                )
            )
        cleaned.append(ImageData(url=image.url, alt=alt or ""))
    return cleaned, problems


def check_product_fields(fields: ProductFields) -> tuple[ProductFields, list[Problem]]:
    """The cleaned fields (same shape) and every problem found without the database, in the
    order of the fields. A price and a currency given together are checked against each other;
    one given alone is checked by the caller against the product's other value
    (`price_in_currency_problem`)."""
    problems: list[Problem] = []
    cleaned: dict[str, Any] = {}
    if fields.name is not None:
        cleaned["name"] = clean_line(fields.name, PRODUCT_NAME_LENGTH)
        if cleaned["name"] is None:
            problems.append(
                Problem(
                    "name",
                    INVALID_INPUT,
                    f"Name must be 1 to {PRODUCT_NAME_LENGTH} printable characters.",
                )
            )
    if fields.sku is not None:
        cleaned["sku"] = clean_sku(fields.sku)
        if cleaned["sku"] is None:
            problems.append(
                Problem(
                    "sku",
                    INVALID_INPUT,
                    f"SKU must be 1 to {MAX_SKU_LENGTH} letters, digits, '.', '_' or '-'.",
                )
            )
    if fields.price is not None:
        cleaned["price"] = clean_price(fields.price)
        if cleaned["price"] is None:
            problems.append(Problem("price", INVALID_PRICE, PRICE_PROBLEM))
    if fields.currency is not None:
        cleaned["currency"] = clean_currency(fields.currency)
        if cleaned["currency"] is None:
            problems.append(
                Problem(
                    "currency",
                    INVALID_CURRENCY,
                    "Currency must be a supported upper-case ISO 4217 code, e.g. USD.",
                )
            )
    if fields.stock is not None and not is_stock(fields.stock):
        problems.append(Problem("stock", INVALID_INPUT, STOCK_PROBLEM))
    if fields.description is not None:
        cleaned["description"] = clean_multiline(fields.description, MAX_DESCRIPTION_LENGTH)
        if cleaned["description"] is None:
            problems.append(Problem("description", INVALID_INPUT, DESCRIPTION_PROBLEM))
    if fields.attributes is not None:
        problem = attributes_problem(fields.attributes)
        if problem:
            problems.append(Problem("attributes", INVALID_INPUT, problem))
    if fields.images is not None:
        cleaned["images"], image_problems = _image_problems(fields.images)
        problems += image_problems
    # Built directly: dataclasses.replace costs more than the checks of a short row.
    result = ProductFields(
        name=cleaned.get("name", fields.name),
        sku=cleaned.get("sku", fields.sku),
        price=cleaned.get("price", fields.price),
        currency=cleaned.get("currency", fields.currency),
        stock=fields.stock,
        description=cleaned.get("description", fields.description),
        attributes=fields.attributes,
        images=cleaned.get("images", fields.images),
    )
    if result.price is not None and result.currency is not None:
        mismatch = price_in_currency_problem(result.price, result.currency)
        if mismatch:
            problems.append(mismatch)
    return result, problems


def price_in_currency_problem(price: Decimal, currency: str) -> Problem | None:
    problem = currency_problem(price, currency)
    return Problem("price", INVALID_PRICE, problem) if problem else None


def image_rows(images: list[ImageData]) -> list[dict[str, str]]:
    """Images as the products.images JSONB column holds them."""
    return [{"url": image.url, "alt": image.alt} for image in images]
