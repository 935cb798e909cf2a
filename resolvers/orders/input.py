"""Order inputs checked before anything is read: quantities, addresses, keys and notes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from db.text import clean_line, clean_multiline
from resolvers.errors import ErrorCode, UserError, invalid_input, user_error

MAX_QUANTITY = 999
MAX_CART_LINES = 100
MAX_KEY_LENGTH = 200
MAX_NOTE_LENGTH = 1000
MAX_REASON_LENGTH = 500
MAX_TRACKING_LENGTH = 100

# Address fields: (name, max length, required).
ADDRESS_FIELDS = (
    ("name", 100, True),
    ("line1", 200, True),
    ("line2", 200, False),
    ("city", 100, True),
    ("postal_code", 20, True),
    ("region", 100, False),
    ("country", 2, True),
)
CAMEL = {"postal_code": "postalCode"}


@dataclass(frozen=True)
class AddressData:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    region: str = ""


def quantity_problem(
    quantity: int, *, allow_zero: bool = False, field: str = "quantity"
) -> UserError | None:
    low = 0 if allow_zero else 1
    if low <= quantity <= MAX_QUANTITY:
        return None
    return user_error(
        ErrorCode.QUANTITY_INVALID, f"Quantity must be between {low} and {MAX_QUANTITY}.", field
    )


def clean_address(address: AddressData) -> tuple[dict[str, Any], list[UserError]]:
    """The address as stored (one-line fields, upper-case country), or the problems."""
    cleaned: dict[str, Any] = {}
    errors: list[UserError] = []
    raw = asdict(address)
    for name, length, required in ADDRESS_FIELDS:
        value = raw[name]
        field = f"shippingAddress.{CAMEL.get(name, name)}"
        if not value.strip():
            if required:
                errors.append(invalid_input("This address field is required.", field))
            cleaned[name] = ""
            continue
        line = clean_line(value, length)
        if line is None:
            errors.append(invalid_input(f"At most {length} printable characters.", field))
            continue
        cleaned[name] = line
    country = cleaned.get("country", "")
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        errors.append(
            invalid_input("A two-letter ISO 3166 country code, e.g. US.", "shippingAddress.country")
        )
    cleaned["country"] = country.upper()
    return cleaned, errors


def clean_key(key: str) -> str | None:
    """An idempotency key: 1 to 200 printable characters, as given."""
    line = clean_line(key, MAX_KEY_LENGTH)
    return key if line is not None and line == key else None


def clean_text(raw: str | None, length: int) -> str | None:
    """An optional note or reason ("" when absent); None when refused."""
    if raw is None or not raw.strip():
        return ""
    return clean_multiline(raw, length)
