"""Reading import files and checking rows: formats, headers, cells, and the mutations' rules."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from openpyxl import Workbook

from workers.exports.neutralise import neutralise
from workers.imports.reader import FileProblem, RawRow, count_rows, read_rows
from workers.imports.rows import STAGING_COLUMNS, check_row


def rows_of(path: Path, content: bytes, max_rows: int = 100) -> list[RawRow]:
    path.write_bytes(content)
    return list(read_rows(path, max_rows=max_rows))


def test_csv_headers_in_any_case_and_order_short_rows_and_blank_rows(tmp_path: Path) -> None:
    rows = rows_of(tmp_path / "f", b"Price;SKU;Name\r\n1.5;A-1\r\n;;\r\n2;B-2;Bee\r\n")
    assert [(r.number, r.cells) for r in rows] == [
        (2, {"price": "1.5", "sku": "A-1", "name": ""}),
        (4, {"price": "2", "sku": "B-2", "name": "Bee"}),
    ]


def test_quoted_line_breaks_stay_in_their_cell(tmp_path: Path) -> None:
    rows = rows_of(tmp_path / "f", b'sku,description\r\nA,"one\r\ntwo"\r\nB,x\r\n')
    assert [(r.number, r.cells["description"]) for r in rows] == [(2, "one\r\ntwo"), (3, "x")]


def test_xlsx_first_sheet_with_numbers(tmp_path: Path) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("products")
    sheet.append(["SKU", "price", "stock", "name"])
    sheet.append(["A-1", 19.99, 3, None])
    sheet.append([None, None, None, None])
    sheet.append(["B-2", 5.0, 0, "Plain"])
    path = tmp_path / "upload"
    workbook.save(path)
    rows = list(read_rows(path, max_rows=10))
    assert [(r.number, r.cells) for r in rows] == [
        (2, {"sku": "A-1", "price": "19.99", "stock": "3", "name": ""}),
        (4, {"sku": "B-2", "price": "5", "stock": "0", "name": "Plain"}),
    ]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"sku,Colour\r\nA,red\r\n", "BAD_HEADER"),
        (b"name\r\nA\r\n", "MISSING_SKU_COLUMN"),
        (b"\r\n\r\n", "NO_ROWS"),
        (b"sku\r\nA\r\nB\r\nC\r\n", "TOO_MANY_ROWS"),
        (b"\xff\xfes\x00k\x00u\x00", "UNSUPPORTED_FILE"),
    ],
)
def test_file_problems(tmp_path: Path, content: bytes, code: str) -> None:
    with pytest.raises(FileProblem) as raised:
        rows_of(tmp_path / "f", content, max_rows=2)
    assert raised.value.code == code
    # Counting (the import counts first) refuses the same files the same way.
    with pytest.raises(FileProblem) as counted:
        count_rows(tmp_path / "f", max_rows=2)
    assert (counted.value.code, counted.value.row) == (code, raised.value.row)


@pytest.mark.parametrize(
    "content",
    [
        b"Price;SKU;Name\r\n1.5;A-1\r\n;;\r\n2;B-2;Bee\r\n\r\n3;C\r\n",
        b'sku,description\r\nA,"one\r\ntwo"\r\n,\r\nB,x\r\nC,"y\n\nz"',
    ],
)
def test_count_and_resume_agree_with_reading(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "f"
    every = rows_of(path, content)
    assert count_rows(path, max_rows=100) == len(every)
    for after in range(1, every[-1].number + 1):
        later = list(read_rows(path, max_rows=100, after=after))
        assert [(r.number, r.cells) for r in later] == [
            (r.number, r.cells) for r in every if r.number > after
        ]


def record(raw: dict[str, str]) -> dict[str, object]:
    checked = check_row(7, RawRow(9, raw))
    assert checked.errors == []
    return dict(zip(STAGING_COLUMNS, checked.record, strict=True))


def test_a_row_is_cleaned_like_a_mutation_input() -> None:
    values = record(
        {
            "sku": " ab-1 ",
            "name": "  Travel   Mug ",
            "price": "19.9",
            "status": "published",
            "attributes": '{"a": 1}',
            "images": "https://x.example/1.jpg|Front\nhttps://x.example/2.jpg",
            "category": "audio  >  Headphones",
            "description": neutralise("-5 degrees"),
        }
    )
    assert values["sku"] == "AB-1" and values["name"] == "Travel Mug"
    assert values["price"] == Decimal("19.90") and values["status"] == "published"
    assert orjson.loads(str(values["attributes"])) == {"a": 1}
    assert orjson.loads(str(values["images"])) == [
        {"url": "https://x.example/1.jpg", "alt": "Front"},
        {"url": "https://x.example/2.jpg", "alt": ""},
    ]
    assert values["category"] == "audio > Headphones"
    assert values["description"] == "-5 degrees"
    assert values["slug_base"] == "travel-mug" and values["valid"] is True


def test_empty_cells_keep_or_clear_values() -> None:
    values = record({"sku": "A", "name": "", "description": "", "attributes": "", "images": ""})
    assert values["name"] is None and values["description"] == ""
    assert values["attributes"] == "{}" and values["images"] == "[]"


def test_a_bad_row_gets_every_problem_with_its_column() -> None:
    checked = check_row(1, RawRow(5, {"sku": "", "price": "12.345", "currency": "JPY"}))
    assert [(e[0], e[1], e[2]) for e in checked.errors] == [
        (5, "sku", "MISSING_VALUE"),
        (5, "price", "INVALID_PRICE"),
    ]
    jpy = check_row(1, RawRow(6, {"sku": "A", "price": "12.5", "currency": "JPY"}))
    assert [(e[1], e[2], e[3]) for e in jpy.errors] == [
        ("price", "INVALID_PRICE", "JPY prices are whole numbers.")
    ]
