"""Order inputs and checkout arithmetic (resolvers.orders.input, resolvers.orders.checkout)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from resolvers.context import Config
from resolvers.orders.checkout import cart_hash, shipping_for
from resolvers.orders.input import AddressData, clean_address, clean_key, quantity_problem

ADDRESS = AddressData(
    name=" Ann  Buyer ", line1="1 Main St", city="Town", postal_code="1", country="de"
)
CONFIG = Config(
    public_url="http://x",
    refresh_token_lifetime=timedelta(days=1),
    refresh_grace_seconds=0,
    login_failures_per_email=1,
    login_failures_per_address=1,
    login_failure_window_seconds=1,
    registrations_per_address_per_hour=1,
    review_banned_words=(),
    shipping_flat_rate=Decimal("4.90"),
    free_shipping_over=Decimal("50.00"),
)


def test_quantities() -> None:
    assert quantity_problem(1) is None and quantity_problem(999) is None
    assert quantity_problem(0) is not None and quantity_problem(1000) is not None
    assert quantity_problem(0, allow_zero=True) is None


def test_addresses_are_cleaned_or_refused_field_by_field() -> None:
    cleaned, errors = clean_address(ADDRESS)
    assert errors == []
    assert cleaned["name"] == "Ann Buyer" and cleaned["country"] == "DE" and cleaned["line2"] == ""
    _, errors = clean_address(replace(ADDRESS, city="", country="Deutschland", line1="x\u202e"))
    assert sorted(error.field or "" for error in errors) == [
        "shippingAddress.city",
        "shippingAddress.country",
        "shippingAddress.line1",
    ]


def test_keys_are_kept_as_given() -> None:
    assert clean_key("6f1c-uuid") == "6f1c-uuid"
    assert clean_key("") is None and clean_key(" padded ") is None and clean_key("x" * 201) is None


def test_shipping_is_free_from_the_threshold() -> None:
    assert shipping_for(CONFIG, Decimal("49.99")) == Decimal("4.90")
    assert shipping_for(CONFIG, Decimal("50.00")) == Decimal("0.00")


def test_the_cart_hash_covers_products_and_quantities_not_line_ids() -> None:
    assert cart_hash([(1, 7, 2)]) == cart_hash([(9, 7, 2)])
    assert cart_hash([(1, 7, 2)]) != cart_hash([(1, 7, 3)])
    assert cart_hash([(1, 7, 2)]) != cart_hash([(1, 8, 2)])
