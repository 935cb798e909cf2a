"""The product export job: the catalog (filtered) as CSV or XLSX, in the import's format.

Everything is read in one REPEATABLE READ snapshot (a consistent file even while the catalog
changes) and goes into the file store as it comes, in the store's own transaction, committed
with nothing partial. CSV: PostgreSQL writes the rows itself (`COPY (SELECT …) TO STDOUT`, in
keyset batches of COPY_BATCH products, progress and cancel checks between them), the cells
formatted and neutralised by the SQL twins of the Python rules (`neutralise_sql`,
`IMAGES_CELL_SQL`); category paths are computed once in Python and joined in. XLSX: rows from
a server-side cursor into openpyxl's write-only workbook, spooled to a temporary file (a zip
is finished only at its end). An export killed midway starts again from the beginning on the
next worker: it keeps no checkpoint (it is fast).

Params (JSON, see `export_params`): `format` ("csv" | "xlsx"), `filter`
(`db.product_filters.ProductConditions.to_json()`), `search` (text or absent).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Text, bindparam, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Category, Product
from db.jobs import JobKind
from db.product_filters import ProductConditions, search_condition
from workers.exports.columns import IMAGES_CELL_SQL, PRODUCT_COLUMNS, format_category_path
from workers.exports.neutralise import neutralise, neutralise_sql
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


COPY_BATCH = 20_000
_LAST_ID = 2**63 - 1


def _copy_statement(conditions: list[Any], paths: dict[int, str]) -> Any:
    """The CSV cells of one batch of products (ids in (after, upto]), every cell text and the
    free-text ones neutralised by the same rule as `neutralise`, in PRODUCT_COLUMNS order."""
    category = (
        func.unnest(
            bindparam("path_ids", list(paths), type_=ARRAY(BigInteger)),
            bindparam("path_names", list(paths.values()), type_=ARRAY(Text)),
        )
        .table_valued("id", "path")
        .render_derived(name="category_paths")
    )
    return (
        select(
            neutralise_sql(Product.sku),
            neutralise_sql(Product.name),
            neutralise_sql(Product.description),
            cast(Product.price, Text),
            Product.currency,
            neutralise_sql(func.coalesce(category.c.path, "")),
            Product.stock,
            func.upper(cast(Product.status, Text)),
            cast(Product.attributes, Text),
            literal_column(IMAGES_CELL_SQL),
        )
        .select_from(Product.__table__.outerjoin(category, category.c.id == Product.category_id))
        .where(*conditions, Product.id > bindparam("after"), Product.id <= bindparam("upto"))
        .order_by(Product.id)
    )


def _collector(parts: list[bytes]) -> Callable[[bytes], Awaitable[None]]:
    async def collect(chunk: bytes) -> None:
        parts.append(chunk)

    return collect


async def _batch_boundaries(session: AsyncSession, conditions: list[Any]) -> tuple[int, list[int]]:
    """(how many products, the id ending each full batch), in one scan."""
    numbered = (
        select(
            Product.id,
            func.row_number().over(order_by=Product.id).label("position"),
            func.count().over().label("total"),
        )
        .where(*conditions)
        .subquery()
    )
    rows = (
        await session.execute(
            select(numbered.c.id, numbered.c.position, numbered.c.total)
            .where(
                (numbered.c.position % COPY_BATCH == 0) | (numbered.c.position == numbered.c.total)
            )
            .order_by(numbered.c.id)
        )
    ).all()
    total = rows[-1].total if rows else 0
    return total, [row.id for row in rows if row.position % COPY_BATCH == 0]


async def _csv(run: JobRun, session: AsyncSession) -> AsyncIterator[bytes]:
    """The CSV file: PostgreSQL writes the rows (COPY … TO STDOUT, RFC 4180 quoting) batch by
    batch, in the session's snapshot, one batch ahead of the file store's writes (on another
    connection); progress and cancel requests between batches."""
    conditions = _statement(run.params)
    total, boundaries = await _batch_boundaries(session, conditions)
    await run.progress(0, total)
    compiled = _copy_statement(conditions, await _category_paths(session)).compile(
        dialect=session.get_bind().dialect
    )
    raw = await (await session.connection()).get_raw_connection()
    driver: Any = raw.driver_connection
    ahead: asyncio.Queue[tuple[bytes, int] | None] = asyncio.Queue(maxsize=1)

    async def produce() -> None:
        after = 0
        for upto in [*boundaries, _LAST_ID]:
            values = {**compiled.params, "after": after, "upto": upto}
            parts: list[bytes] = []
            status = await driver.copy_from_query(
                compiled.string,
                *[values[name] for name in compiled.positiontup or ()],
                output=_collector(parts),
                format="csv",
            )
            await ahead.put((b"".join(parts), int(status.split()[-1]) if status else 0))
            after = upto
        await ahead.put(None)

    producer = asyncio.create_task(produce())
    yield "\ufeff".encode() + (",".join(PRODUCT_COLUMNS) + "\n").encode()
    done = 0
    try:
        while (batch := await ahead.get()) is not None:
            run.raise_if_cancelled()
            content, rows = batch
            yield content
            done += rows
            await run.progress(done, total)
        await producer
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer


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
        # Zipping a large sheet takes seconds: in a thread, so the job's heartbeat keeps going.
        await asyncio.to_thread(workbook.save, spool)
        spool.seek(0)
        while chunk := await asyncio.to_thread(spool.read, 1024 * 1024):
            yield chunk


@register(JobKind.EXPORT_PRODUCTS)
async def export_products(run: JobRun) -> None:
    file_format = run.params.get("format", "csv")
    if file_format not in FORMATS:
        await run.fail(f"unknown export format {file_format!r}")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    async with run.sessions() as session:
        # One snapshot for the count, the categories and every row (read only: it ends in a
        # rollback when the session closes).
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        content = _csv(run, session) if file_format == "csv" else _xlsx(_rows(run, session))
        file_id = await run.files.save(
            content,
            name=f"products-{stamp}.{file_format}",
            content_type=CSV_TYPE if file_format == "csv" else XLSX_TYPE,
            purpose="export",
            created_by_id=run.created_by_id,
        )
    await run.finish(Summary(), result_file_id=file_id)
