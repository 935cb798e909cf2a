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

import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Category, Product, ProductStatus
from db.jobs import JobKind
from db.product_filters import ProductConditions, search_condition
from workers.exports.columns import PRODUCT_COLUMNS, format_category_path, format_images
from workers.exports.neutralise import neutralise
from workers.jobs.runner import JobRun, Summary, register

BATCH = 2000
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


def _status_cell(status: ProductStatus) -> str:
    return status.name


def product_cells(
    row: Any, paths: dict[int, str]
) -> tuple[str, str, str, Decimal, str, str, int, str, str, str]:
    """One product as the file's cells (text not yet neutralised), in PRODUCT_COLUMNS order."""
    return (
        row.sku,
        row.name,
        row.description,
        row.price,
        row.currency,
        paths.get(row.category_id, "") if row.category_id is not None else "",
        row.stock,
        _status_cell(row.status),
        json.dumps(row.attributes, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        format_images(row.images),
    )


async def _rows(run: JobRun, session: AsyncSession) -> AsyncIterator[tuple[Any, ...]]:
    """Every product to export, as cells; reports progress and honours cancel requests."""
    conditions = _statement(run.params)
    total = (
        await session.execute(select(func.count()).select_from(Product).where(*conditions))
    ).scalar_one()
    await run.progress(0, total)
    paths = await _category_paths(session)
    columns = (
        Product.id,
        Product.sku,
        Product.name,
        Product.description,
        Product.price,
        Product.currency,
        Product.category_id,
        Product.stock,
        Product.status,
        Product.attributes,
        Product.images,
    )
    result = await session.stream(
        select(*columns).where(*conditions).order_by(Product.id),
        execution_options={"yield_per": BATCH},
    )
    done = 0
    async for partition in result.partitions():
        run.raise_if_cancelled()
        for row in partition:
            yield product_cells(row, paths)
        done += len(partition)
        await run.progress(done, total)
    await run.progress(done, total)


def _csv_text(cells: Iterable[Any]) -> list[str]:
    return [neutralise(c) if isinstance(c, str) else str(c) for c in cells]


async def _csv(rows: AsyncIterator[tuple[Any, ...]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")  # a BOM: spreadsheets then read the file as UTF-8
    writer.writerow(PRODUCT_COLUMNS)
    async for cells in rows:
        writer.writerow(_csv_text(cells))
        if buffer.tell() >= 256 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _xlsx(rows: AsyncIterator[tuple[Any, ...]]) -> AsyncIterator[bytes]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("products")
    sheet.append(list(PRODUCT_COLUMNS))
    async for cells in rows:
        sheet.append([neutralise(c) if isinstance(c, str) else c for c in cells])
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(1024 * 1024):
            yield chunk


WRITERS: dict[str, Callable[[AsyncIterator[tuple[Any, ...]]], AsyncIterator[bytes]]] = {
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
