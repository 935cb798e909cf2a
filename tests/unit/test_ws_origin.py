"""Which pages may open a WebSocket to the API: this server's own, and CORS_ORIGINS'."""

from __future__ import annotations

import pytest

from app.cors import origin_allowed
from app.subscriptions import same_origin


@pytest.mark.parametrize(
    ("origin", "host", "expected"),
    [
        ("http://api.example.com", "api.example.com", True),
        ("https://API.example.com:8443", "api.example.com:8443", True),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
        ("https://evil.example", "api.example.com", False),
        ("https://api.example.com.evil.example", "api.example.com", False),
        ("null", "api.example.com", False),
        ("http://api.example.com", None, False),
    ],
)
def test_same_origin(origin: str, host: str | None, expected: bool) -> None:
    assert same_origin(origin, host) is expected


@pytest.mark.parametrize(
    ("origins", "origin", "expected"),
    [
        (("https://shop.example.com",), "https://shop.example.com", True),
        (("https://shop.example.com",), "https://shop.example.com.evil.example", False),
        (("http://localhost:*",), "http://localhost:5173", True),
        (("http://localhost:*",), "http://localhost.evil:5173", False),
        (("*",), "https://anything.example", True),
        ((), "https://shop.example.com", False),
    ],
)
def test_origin_allowed(origins: tuple[str, ...], origin: str, expected: bool) -> None:
    assert origin_allowed(origins, origin) is expected
