"""The product export job: the catalog (filtered) as CSV or XLSX, in the import's format.

Rows stream from a server-side cursor inside one REPEATABLE READ snapshot (a consistent file
even while the catalog changes), are written as CSV (or openpyxl's write-only XLSX, spooled
to a temporary file since a zip is finished only at its end) and go into the file store as
they come, in its own transaction, committed with nothing partial. An export killed midway
starts again from the beginning on the next worker: it keeps no checkpoint (it is fast).

Params (JSON, see `export_params`): `format` ("csv" | "xlsx"), `filter`
(`db.product_filters.ProductConditions.to_json()`), `search` (text or absent).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Category, Product
from db.jobs import JobKind
from db.product_filters import ProductConditions, search_condition
from workers.exports.columns import IMAGES_CELL_SQL, PRODUCT_COLUMNS, format_category_path
from workers.exports.neutralise import neutralise
from workers.jobs.runner import JobRun, Summary, register

BATCH = 5000
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def export_params(
    file_format: str, conditions: ProductConditions, search: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"format": file_format, "filter": conditions.to_json()}
    if search is not None:
        params["search"] = search
    return params


def _statement(params: dict[str, Any]) -> Any:
    conditions = ProductConditions.from_json(params.get("filter") or {}).conditions()
    searched = search_condition(params.get("search"))
    if searched is not None:
        conditions.append(searched)
    return conditions


async def _category_paths(session: AsyncSession) -> dict[int, str]:
    rows = (await session.execute(select(Category.id, Category.name, Category.path))).all()
    names = {category_id: name for category_id, name, _ in rows}
    return {
        category_id: format_category_path([names[a] for a in path if a in names] + [name])
        for category_id, name, path in rows
    }


# Every cell but the category comes out of PostgreSQL as text, ready to write: price as
# "19.99", status upper-case, attributes as JSON (jsonb's own rendering), images formatted by
# IMAGES_CELL_SQL. Only stock stays a number (an XLSX numeric cell).
_CELLS: tuple[Any, ...] = (
    Product.sku,
    Product.name,
    Product.description,
    cast(Product.price, Text),
    Product.currency,
    Product.category_id,
    Product.stock,
    func.upper(cast(Product.status, Text)),
    cast(Product.attributes, Text),
    literal_column(IMAGES_CELL_SQL),
)


async def _rows(run: JobRun, session: AsyncSession) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The products to export in batches of rows of cells (text not yet neutralised), in
    PRODUCT_COLUMNS order; reports progress and honours cancel requests between batches."""
    conditions = _statement(run.params)
    total = (
        await session.execute(select(func.count()).select_from(Product).where(*conditions))
    ).scalar_one()
    await run.progress(0, total)
    paths = await _category_paths(session)
    # A server-side cursor straight on the driver (asyncpg), in the session's transaction:
    # plain records, without a result layer that costs more than writing the row.
    compiled = (
        select(*_CELLS)
        .where(*conditions)
        .order_by(Product.id)
        .compile(dialect=session.get_bind().dialect)
    )
    arguments = [compiled.params[name] for name in compiled.positiontup or ()]
    raw = await (await session.connection()).get_raw_connection()
    cursor = await raw.driver_connection.cursor(compiled.string, *arguments)  # type: ignore[union-attr]
    # PostgreSQL computes the next batch while this one is written: a reader task one batch
    # ahead (at most two batches in memory).
    ahead: asyncio.Queue[list[Any] | None] = asyncio.Queue(maxsize=1)

    async def read() -> None:
        while batch := await cursor.fetch(BATCH):
            await ahead.put(batch)
        await ahead.put(None)

    reader = asyncio.create_task(read())
    done = 0
    try:
        while (partition := await ahead.get()) is not None:
            run.raise_if_cancelled()
            yield [
                (sku, name, description, price, currency, paths.get(category, ""), *rest)
                for sku, name, description, price, currency, category, *rest in partition
            ]
            done += len(partition)
            await run.progress(done, total)
        await reader
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    await run.progress(done, total)


# The cells that may start with a formula character: sku, name, description, category. The
# others cannot (validated on every write): a price is a non-negative number, a currency and a
# status are letters, attributes a JSON object ("{"), images http(s) URLs.
_FREE_TEXT = (0, 1, 2, 5)


def _neutralised(row: tuple[Any, ...]) -> list[Any]:
    cells = list(row)
    for index in _FREE_TEXT:
        cells[index] = neutralise(cells[index])
    return cells


async def _csv(batches: AsyncIterator[list[tuple[Any, ...]]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")  # a BOM: spreadsheets then read the file as UTF-8
    writer.writerow(PRODUCT_COLUMNS)
    async for batch in batches:
        writer.writerows(_neutralised(row) for row in batch)
        if buffer.tell() >= 256 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _xlsx(batches: AsyncIterator[list[tuple[Any, ...]]]) -> AsyncIterator[bytes]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("products")
    sheet.append(list(PRODUCT_COLUMNS))
    async for batch in batches:
        for row in batch:
            cells = _neutralised(row)
            cells[3] = Decimal(cells[3])  # the price as a number cell
            sheet.append(cells)
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(1024 * 1024):
            yield chunk


WRITERS: dict[str, Callable[[AsyncIterator[list[tuple[Any, ...]]]], AsyncIterator[bytes]]] = {
    "csv": _csv,
    "xlsx": _xlsx,
}


@register(JobKind.EXPORT_PRODUCTS)
async def export_products(run: JobRun) -> None:
    file_format = run.params.get("format", "csv")
    if file_format not in WRITERS:
        await run.fail(f"unknown export format {file_format!r}")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    async with run.sessions() as session:
        # One snapshot for the count, the categories and every row (read only: it ends in a
        # rollback when the session closes).
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        file_id = await run.files.save(
            WRITERS[file_format](_rows(run, session)),
            name=f"products-{stamp}.{file_format}",
            content_type=CSV_TYPE if file_format == "csv" else XLSX_TYPE,
            purpose="export",
            created_by_id=run.created_by_id,
        )
    await run.finish(Summary(), result_file_id=file_id)
