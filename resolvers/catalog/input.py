"""Catalog input: the limits of product and category fields and the checks of their values
(SKUs, money, stock, URLs, JSON attributes), for the catalog's mutations and filters.

Each check returns the cleaned value or None (or a message), so a resolver can collect every
problem of an input before it touches the database. Text goes through `resolvers.text`, slugs
through `resolvers.catalog.slugs`.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

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


def is_web_url(raw: str) -> bool:
    """An absolute http(s) URL with a host: no javascript:, data:, relative or spaced URLs."""
    if not raw or len(raw) > MAX_URL_LENGTH:
        return False
    if any(char.isspace() or unicodedata.category(char)[0] == "C" for char in raw):
        return False
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


# --- JSON ---------------------------------------------------------------------------------


def _json_problem(value: Any, depth: int = 0) -> str | None:
    """What PostgreSQL's JSONB would refuse: NUL, lone surrogates, NaN and infinities."""
    if depth > 20:
        return "nests too deeply"
    if isinstance(value, str):
        if "\x00" in value or any(unicodedata.category(char) == "Cs" for char in value):
            return "holds a NUL or an invalid character"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "holds a number that is not finite"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _json_problem(key, depth + 1) or _json_problem(item, depth + 1)
            if problem:
                return problem
    if isinstance(value, list):
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
    return None


def attributes_problem(value: Any) -> str | None:
    """Why `value` cannot be a product's attributes, or None."""
    if not isinstance(value, dict):
        return 'Attributes must be a JSON object, e.g. {"color": "black"}.'
    if len(value) > MAX_ATTRIBUTES:
        return f"Attributes may have at most {MAX_ATTRIBUTES} keys."
    if any(not key.strip() for key in value):
        return "Attribute names must not be empty."
    problem = _json_problem(value)
    if problem:
        return f"Attributes {problem}."
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_ATTRIBUTES_BYTES:
        return f"Attributes may take at most {MAX_ATTRIBUTES_BYTES // 1024} KiB as JSON."
    return None
