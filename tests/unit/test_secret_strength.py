"""The entropy estimate of secrets: random keys pass, patterns, words and walks do not."""

from __future__ import annotations

import secrets
import string

import pytest

from app.secret_strength import MIN_SECRET_BITS, estimate, weakness_of

GENERATORS = {
    "token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "token_hex(32)": lambda: secrets.token_hex(32),
    "alphanumeric 32": lambda: "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(32)
    ),
    "lower case and digits 32": lambda: "".join(
        secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32)
    ),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_random_keys_pass(name: str) -> None:
    weak = [key for key in (GENERATORS[name]() for _ in range(300)) if weakness_of(key, 32)]

    assert weak == []


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("a" * 32, "repetition"),
        ("ab" * 20, "repetition"),
        ("0123456789abcdef" * 2, "repetition"),
        ("qwertyuiopasdfghjklzxcvbnm123456", "a keyboard or alphabet run"),
        ("abcdefghijklmnopqrstuvwxyz987654", "a keyboard or alphabet run"),
        ("my-super-secret-jwt-signing-key-for-production", "a dictionary word"),
        ("ChangeMe-Example-Password-Default!", "a dictionary word"),
        ("correct horse battery staple 2024", "a dictionary word"),
    ],
)
def test_guessable_keys_are_weak_and_say_why(key: str, kind: str) -> None:
    strength = estimate(key)

    assert strength.bits < MIN_SECRET_BITS
    assert kind in strength.weaknesses
    assert kind in (weakness_of(key, 32) or "")


def test_length_is_checked_first() -> None:
    assert weakness_of(secrets.token_urlsafe(48)[:31], 32) == "it is shorter than 32 characters"


def test_a_long_key_is_judged_quickly() -> None:
    assert estimate(secrets.token_urlsafe(3000)).bits > 1000
