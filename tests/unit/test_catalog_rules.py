"""The catalog rules' fast paths give the verdicts of the full checks (db/catalog_rules.py)."""

from __future__ import annotations

import json

import pytest

from db.catalog_rules import MAX_ATTRIBUTES_BYTES, attributes_problem, is_web_url


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://img.example.com/1/front.jpg", True),
        ("http://localhost", True),
        ("https://shop.example/p?x=1#top", True),
        ("HTTPS://Example.COM/a", True),
        ("https://example.com:8080/a", True),
        ("https://user@example.com/a", True),
        ("https://example.com:99999/a", False),
        ("https://[::1/a", False),
        ("https:///path-only", False),
        ("https://exa mple.com/", False),
        ("https://example.com/\x7f", False),
        ("javascript:alert(1)", False),
        ("ftp://example.com/a", False),
        ("/relative/a.jpg", False),
        ("https://example.com/" + "a" * 2100, False),
    ],
)
def test_web_urls(url: str, accepted: bool) -> None:
    assert is_web_url(url) is accepted


def _size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def test_attributes_measured_as_json_at_the_limit() -> None:
    # Escapes and multi-byte characters count as json.dumps writes them.
    for char in ("a", "é", "😀", '"', "\x01"):
        width = _size(char) - 2
        fits = {"k": char * ((MAX_ATTRIBUTES_BYTES - 10) // width)}
        assert _size(fits) <= MAX_ATTRIBUTES_BYTES
        assert attributes_problem(fits) is None
        over = {"k": char * (MAX_ATTRIBUTES_BYTES // width + 1)}
        assert attributes_problem(over) == "Attributes may take at most 16 KiB as JSON."


def test_attributes_refused_values_anywhere() -> None:
    assert attributes_problem({"a": [1, {"b": "x\x00"}]}) == (
        "Attributes holds a NUL or an invalid character."
    )
    assert (
        attributes_problem({"a": [float("nan")]}) == "Attributes holds a number that is not finite."
    )
    assert attributes_problem({"a": {"b": 10**40, "c": None, "d": True, "e": 1.5}}) is None
