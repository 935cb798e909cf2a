"""Validators shared by the catalog write path: text, slugs, SKUs, money, URLs and JSON.

Each pure check returns the cleaned value or None (or a message), so a resolver can collect
every problem of an input before it touches the database. The database-backed helpers at the
end (free slugs, which unique constraint a failed insert hit) never commit.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SKU_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_DESCRIPTION_LENGTH = 10_000
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

# Joiners keep emoji sequences and some scripts intact; every other format character (bidi
# overrides, zero-width spaces, ...) is refused in names, where it only serves to spoof.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}
_MULTILINE = {"\n", "\r", "\t"}
# Letters NFKD does not decompose into ASCII, spelled out for slugs.
_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "đ": "d",
     "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH"}
)  # fmt: skip


# --- text ---------------------------------------------------------------------------------


def clean_text(raw: str, max_length: int) -> str | None:
    """A one-line name: whitespace collapsed, 1..max_length printable characters, else None."""
    text = " ".join(raw.split())
    if not text or len(text) > max_length:
        return None
    for char in text:
        category = unicodedata.category(char)
        if category in {"Cc", "Cs", "Co"} or (category == "Cf" and char not in _ALLOWED_FORMAT):
            return None
    return text


def clean_description(raw: str) -> str | None:
    """Free text with line breaks kept, trimmed; None if too long or holding control characters.

    NUL and lone surrogates in particular would otherwise reach PostgreSQL and fail there.
    """
    text = raw.strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        return None
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs" or (category == "Cc" and char not in _MULTILINE):
            return None
    return text


# --- slugs and SKUs -----------------------------------------------------------------------


def is_slug(value: str, max_length: int) -> bool:
    return len(value) <= max_length and SLUG_PATTERN.fullmatch(value) is not None


def ascii_fold(text: str) -> str:
    """ASCII only: accents dropped ("é" → "e"), a few letters spelled out ("ß" → "ss"), and
    anything else a separator, so "½" is "1 2" rather than "12"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(
        char if char.isascii() else "" if unicodedata.combining(char) else " "
        for char in decomposed
    )


def slugify(name: str, max_length: int, fallback: str) -> str:
    """Lower-case ASCII words joined by '-': "Café Crème 2" → "cafe-creme-2"."""
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_fold(name).lower()).strip("-")
    slug = slug[:max_length].rstrip("-")
    return slug or fallback


def slug_candidates(base: str, max_length: int, numbers: Iterable[int]) -> list[str]:
    """`base` for 1, else `base-2`, `base-3`, ... each cut to fit `max_length`."""
    candidates = []
    for number in numbers:
        if number == 1:
            candidates.append(base[:max_length])
            continue
        suffix = f"-{number}"
        candidates.append(base[: max_length - len(suffix)].rstrip("-") + suffix)
    return candidates


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


# --- database-backed ----------------------------------------------------------------------


async def free_slug(
    session: AsyncSession,
    column: InstrumentedAttribute[str],
    base: str,
    max_length: int,
    *,
    batch: int = 100,
) -> str:
    """The first of `base`, `base-2`, `base-3`, ... that no row of `column` holds yet."""
    start = 1
    while True:
        candidates = slug_candidates(base, max_length, range(start, start + batch))
        taken = set((await session.execute(select(column).where(column.in_(candidates)))).scalars())
        for candidate in candidates:
            if candidate not in taken:
                return candidate
        start += batch


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint a failed statement violated (asyncpg reports it)."""
    cause = error.orig.__cause__ if error.orig is not None else None
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None
