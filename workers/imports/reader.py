"""Reading an import file: CSV or XLSX, streamed row by row, whatever its size.

The format is told by the bytes, not the name: a ZIP (XLSX is one) is read with openpyxl in
read-only mode, first sheet; anything else must be UTF-8 text (a BOM is allowed) and is read as
CSV, its delimiter (`,`, `;` or tab) detected from the header line. Rows are numbered as a
spreadsheet shows them: the header is row 1, the first product row 2.

What makes the whole file unusable raises `FileProblem` (the import stops, FAILED, with that
error): neither CSV nor XLSX, not UTF-8, a bad header, no rows, too many rows or columns. What
concerns one row only comes back with the row (`RawRow.problems`), so every row can be
reported. Headers are matched by name in any case and order (`COLUMNS`).
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from workers.exports.columns import PRODUCT_COLUMNS as COLUMNS

MAX_COLUMNS = 200
MAX_CELL_BYTES = 64 * 1024
# A workbook whose parts expand beyond this is refused before openpyxl reads it (zip bombs).
MAX_XLSX_EXPANDED_BYTES = 2 * 1024**3
_ZIP_MAGIC = b"PK\x03\x04"
_DELIMITERS = (",", ";", "\t")


class FileProblem(Exception):
    """The file cannot be imported at all; `row`/`column` say where, when one place does."""

    def __init__(
        self, code: str, message: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row
        self.column = column


@dataclass(frozen=True, slots=True)
class CellProblem:
    column: str | None
    code: str
    message: str


@dataclass(slots=True)
class RawRow:
    """One product row: its spreadsheet row number, its cells by column name (only the file's
    columns; a short row's missing cells are empty), and problems found while reading it."""

    number: int
    cells: dict[str, str]
    problems: list[CellProblem] = field(default_factory=list)


def map_header(header: list[str]) -> list[str | None]:
    """The column name of each header cell (None for trailing blank ones), or FileProblem
    listing what is wrong: unknown or repeated names, no `sku`, too many columns."""
    if len(header) > MAX_COLUMNS:
        raise FileProblem(
            "TOO_MANY_COLUMNS", f"The file has {len(header)} columns; at most {MAX_COLUMNS}.", row=1
        )
    names = [cell.strip().lower() for cell in header]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise FileProblem("NO_ROWS", "The file is empty: it needs a header row and products.")
    mapped: list[str | None] = []
    problems: list[str] = []
    for position, name in enumerate(names, start=1):
        if name not in COLUMNS:
            shown = header[position - 1].strip() or f"(blank, column {position})"
            problems.append(f"unknown column {shown!r}")
        elif name in mapped:
            problems.append(f"column {name!r} appears twice")
        mapped.append(name if name in COLUMNS else None)
    if "sku" not in mapped:
        problems.append("the required column 'sku' is missing")
    if problems:
        code = "MISSING_SKU_COLUMN" if len(problems) == 1 and "sku" not in mapped else "BAD_HEADER"
        raise FileProblem(
            code,
            "Header: " + "; ".join(problems) + f". Columns are: {', '.join(COLUMNS)}.",
            row=1,
        )
    return mapped


def _row(number: int, columns: list[str | None], values: list[str]) -> RawRow:
    row = RawRow(number, {name: "" for name in columns if name is not None})
    for position, value in enumerate(values):
        if not value:
            continue
        name = columns[position] if position < len(columns) else None
        if name is None:
            row.problems.append(
                CellProblem(None, "EXTRA_CELL", f"Cell {position + 1} has no column header.")
            )
            continue
        if len(value) * 4 > MAX_CELL_BYTES and len(value.encode()) > MAX_CELL_BYTES:
            row.problems.append(
                CellProblem(
                    name, "CELL_TOO_LARGE", f"Cells may hold at most {MAX_CELL_BYTES} bytes."
                )
            )
            continue
        row.cells[name] = value
    return row


def _is_blank(values: list[str]) -> bool:
    return not any(value.strip() for value in values)


def _numbered(
    values: Iterator[list[str]], max_rows: int
) -> Iterator[tuple[int, list[str | None], list[str]]]:
    """Header, then product rows (number, columns, cells); blank rows are skipped
    (spreadsheets leave them)."""
    header = next(values, None)
    if header is None or _is_blank(header):
        raise FileProblem("NO_ROWS", "The file is empty: it needs a header row and products.")
    columns = map_header(header)
    count = 0
    for number, cells in enumerate(values, start=2):
        if _is_blank(cells):
            continue
        count += 1
        if count > max_rows:
            raise FileProblem(
                "TOO_MANY_ROWS", f"The file has more than {max_rows} product rows.", row=number
            )
        yield number, columns, cells
    if count == 0:
        raise FileProblem("NO_ROWS", "The file has a header but no product rows.")


def _rows(values: Iterator[list[str]], max_rows: int, after: int) -> Iterator[RawRow]:
    for number, columns, cells in _numbered(values, max_rows):
        if number > after:
            yield _row(number, columns, cells)


# --- CSV ------------------------------------------------------------------------------------


def _delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


class _NotUtf8(Exception):
    pass


def _decoded_lines(stream: IO[bytes]) -> Iterator[str]:
    """The file's lines as text, decoded one by one (a UTF-8 sequence never holds a line
    feed byte, so a decoding error belongs to the line it is found in); BOM dropped."""
    for number, line in enumerate(stream):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _NotUtf8 from error
        yield text.removeprefix("\ufeff") if number == 0 else text


def _not_utf8(row: int | None) -> FileProblem:
    return FileProblem(
        "NOT_UTF8",
        "The file is not UTF-8 text: save it as 'CSV UTF-8' (or XLSX) and upload again.",
        row=row,
    )


def _csv_values(path: Path) -> Iterator[list[str]]:
    records = 0
    with path.open("rb") as stream:
        lines = _decoded_lines(stream)
        try:
            first = next(lines, "")
            reader = csv.reader(_chain(first, lines), delimiter=_delimiter(first), strict=False)
            for values in reader:
                records += 1
                if len(values) > MAX_COLUMNS:
                    raise FileProblem(
                        "TOO_MANY_COLUMNS",
                        f"Row {records} has {len(values)} cells; at most {MAX_COLUMNS}.",
                        row=records,
                    )
                yield values
        except _NotUtf8:
            raise _not_utf8(records + 1) from None
        except csv.Error as error:
            raise FileProblem(
                "BAD_CSV", f"The CSV cannot be read near row {records + 1}: {error}."
            ) from error


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


# --- XLSX -----------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _xlsx_values(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook  # imported on use: only XLSX imports pay for it

    with path.open("rb") as stream:  # a file object: openpyxl then ignores the file's name
        try:
            with zipfile.ZipFile(stream) as archive:
                expanded = sum(info.file_size for info in archive.infolist())
            if expanded > MAX_XLSX_EXPANDED_BYTES:
                raise FileProblem("FILE_TOO_LARGE", "The workbook expands to more than 2 GiB.")
            stream.seek(0)
            workbook = load_workbook(stream, read_only=True, data_only=True)
        except FileProblem:
            raise
        except Exception as error:  # openpyxl raises many kinds on a damaged workbook
            raise _neither() from error
        try:
            if not workbook.worksheets:
                raise FileProblem("NO_ROWS", "The workbook has no sheet.")
            for number, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), 1):
                cells = list(values)
                if len(cells) > MAX_COLUMNS:
                    # Trailing empty cells do not count: sheets often carry formatted columns.
                    used = [i for i, value in enumerate(cells) if value not in (None, "")]
                    if used and used[-1] >= MAX_COLUMNS:
                        raise FileProblem(
                            "TOO_MANY_COLUMNS",
                            f"Row {number} has {used[-1] + 1} cells; at most {MAX_COLUMNS}.",
                            row=number,
                        )
                    cells = cells[:MAX_COLUMNS]
                yield [_cell_text(value) for value in cells]
        finally:
            workbook.close()


def _neither() -> FileProblem:
    return FileProblem(
        "UNSUPPORTED_FILE", "The file is neither CSV (UTF-8 text) nor an XLSX workbook."
    )


def read_rows(path: Path, *, max_rows: int, after: int = 1) -> Iterator[RawRow]:
    """The product rows of the file at `path` numbered above `after`, streamed; raises
    FileProblem (see the module), for the rows skipped too."""
    return _rows(_values(path), max_rows, after)


def count_rows(path: Path, *, max_rows: int) -> int:
    """How many product rows `read_rows` gives, with the same FileProblems, without building
    the rows (the import counts first, for its progress)."""
    return sum(1 for _row in _numbered(_values(path), max_rows))


def _values(path: Path) -> Iterator[list[str]]:
    """The file's records as lists of cells, CSV or XLSX; raises FileProblem."""
    with path.open("rb") as stream:
        start = stream.read(4096)
    if start.startswith(_ZIP_MAGIC):
        return _xlsx_values(path)
    if b"\x00" in start:
        raise _neither()
    try:
        codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        raise _not_utf8(None) from None
    return _csv_values(path)


async def spool(chunks: AsyncIterator[bytes], target: IO[bytes]) -> int:
    """Write a byte stream (a stored file's chunks) to `target`, a temporary file, so the
    readers can seek; returns the size. Never holds more than a chunk in memory."""
    size = 0
    async for chunk in chunks:
        target.write(chunk)
        size += len(chunk)
    target.flush()
    return size
