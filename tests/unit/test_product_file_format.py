"""The product file format shared by export and import: formula neutralising and its inverse,
images cells (Python and the export's SQL agree), category paths."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import text

from resolvers.context import Services
from workers.exports.columns import (
    IMAGES_CELL_SQL,
    format_category_path,
    format_images,
    parse_category_path,
    parse_images,
)
from workers.exports.neutralise import neutralise, unneutralise


@pytest.mark.parametrize(
    ("plain", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-5 cm", "'-5 cm"),
        ("@handle", "'@handle"),
        ("\tindented", "'\tindented"),
        ("\rcarriage", "'\rcarriage"),
        ("'=x", "''=x"),
        ("''-y", "'''-y"),
        ("'quoted", "'quoted"),
        ("plain = fine", "plain = fine"),
        ("", ""),
        ("'", "'"),
    ],
)
def test_neutralise_prefixes_one_quote_and_unneutralise_removes_it(
    plain: str, written: str
) -> None:
    assert neutralise(plain) == written
    assert unneutralise(written) == plain


def test_images_and_categories_round_trip() -> None:
    images = [
        {"url": "https://img.example.com/a.jpg", "alt": "Front | side"},
        {"url": "https://img.example.com/b.jpg", "alt": ""},
    ]
    cell = format_images(images)
    assert cell == "https://img.example.com/a.jpg|Front | side\nhttps://img.example.com/b.jpg"
    assert parse_images(cell) == images
    assert parse_images("") == []
    assert format_category_path(["Audio", "Headphones"]) == "Audio > Headphones"
    assert parse_category_path("Audio > Headphones") == ["Audio", "Headphones"]


async def test_the_exports_sql_formats_images_as_format_images_does(
    client: httpx.AsyncClient, services: Services
) -> None:
    cases = [
        [],
        [{"url": "https://x.example.com/1.png", "alt": "One"}],
        [
            {"url": "https://x.example.com/1.png", "alt": ""},
            {"url": "https://x.example.com/2.png", "alt": "Two | more"},
            {"url": "https://x.example.com/3.png"},
        ],
    ]
    async with services.readers() as session:
        for images in cases:
            sql = IMAGES_CELL_SQL.replace("products.images", "CAST(:images AS jsonb)")
            cell = (
                await session.execute(text(f"SELECT {sql}"), {"images": json.dumps(images)})
            ).scalar_one()
            assert cell == format_images(images), images
