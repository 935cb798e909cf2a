"""The import's database side: stage rows, check what needs the whole file, apply set-based.

1. `stage` COPYs a batch of checked rows into `import_rows` (the caller's transaction also
   holds the batch's errors and the checkpoint).
   Each batch's category cells are resolved first (a slug, or a path of names from the root,
   any case; remembered from batch to batch), so the rows are staged with their category.
2. `finalize` decides, set-based, what one row cannot: SKUs appearing twice in the file, a
   new product without a name or a price, a price given without its currency (or the
   reverse) against the product's other value. It records those errors and marks the rows
   invalid.
3. `count` classifies the valid rows against the catalog: created, updated, unchanged (every
   value the row gives equals the product's).
4. `apply` changes the catalog in the caller's transaction, under a transaction-level advisory
   lock so two imports never interleave (the later one sees the earlier one's result): new
   products with unique slugs numbered like createProduct's (`db.slugs`), then one UPDATE ...
   FROM for the changed ones. Search vectors are generated columns and ratings start at zero,
   so both are right without more work.

Nothing here commits: the caller owns the transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog_rules import CURRENCY_DECIMALS, PRODUCT_SLUG_LENGTH, price_in_currency_problem
from db.slugs import slug_candidates
from workers.imports.rows import STAGING_COLUMNS, CheckedRow, ErrorRow
from workers.jobs.runner import Summary

# pg_advisory_xact_lock key of the import's apply step ("imports").
APPLY_LOCK_KEY = 0x696D706F727473
_WHOLE_CURRENCIES = sorted(code for code, decimals in CURRENCY_DECIMALS.items() if decimals == 0)

# A valid staged row `r` against its product `p`: would applying it change anything?
_CHANGES = """(
    (r.name IS NOT NULL AND r.name IS DISTINCT FROM p.name)
    OR (r.description IS NOT NULL AND r.description IS DISTINCT FROM p.description)
    OR (r.price IS NOT NULL AND r.price IS DISTINCT FROM p.price)
    OR (r.currency IS NOT NULL AND r.currency IS DISTINCT FROM p.currency)
    OR (r.stock IS NOT NULL AND r.stock IS DISTINCT FROM p.stock)
    OR (r.status IS NOT NULL AND r.status IS DISTINCT FROM p.status)
    OR (r.category IS NOT NULL AND r.category_id IS DISTINCT FROM p.category_id)
    OR (r.attributes IS NOT NULL AND r.attributes IS DISTINCT FROM p.attributes)
    OR (r.images IS NOT NULL AND r.images IS DISTINCT FROM p.images)
)"""
# ... and would a storefront watching it see a change (price, stock, status of a published one)?
_VISIBLE_CHANGES = """(
    (p.status = 'published' OR r.status = 'published')
    AND (
        (r.price IS NOT NULL AND r.price IS DISTINCT FROM p.price)
        OR (r.stock IS NOT NULL AND r.stock IS DISTINCT FROM p.stock)
        OR (r.status IS NOT NULL AND r.status IS DISTINCT FROM p.status)
    )
)"""


async def _raw(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


_SKU = STAGING_COLUMNS.index("sku")
_VALID = STAGING_COLUMNS.index("valid")
_CATEGORY = STAGING_COLUMNS.index("category")
_CATEGORY_ID = STAGING_COLUMNS.index("category_id")


async def stage(
    session: AsyncSession, batch: Sequence[CheckedRow], categories: dict[str, int | None]
) -> list[ErrorRow]:
    """COPY a batch of checked rows into `import_rows`, their category cells resolved first
    (`categories` remembers the cells resolved by earlier batches: a file names few
    categories, on many rows). Returns the batch's errors, by row: each row's own, then
    UNKNOWN_CATEGORY for a category that does not resolve (the row is then invalid)."""
    unresolved = {
        checked.record[_CATEGORY]
        for checked in batch
        if checked.record[_CATEGORY] and checked.record[_SKU] is not None
    }.difference(categories)
    if unresolved:
        categories.update(await resolve_categories(session, sorted(unresolved)))
    records: list[tuple[Any, ...]] = []
    errors: list[ErrorRow] = []
    for checked in batch:
        record = checked.record
        errors += checked.errors
        cell = record[_CATEGORY]
        if cell and record[_SKU] is not None:
            category_id = categories[cell]
            if category_id is None:
                errors.append((record[1], "category", UNKNOWN_CATEGORY, UNKNOWN_CATEGORY_MESSAGE))
            values = list(record)
            values[_VALID] = record[_VALID] and category_id is not None
            values[_CATEGORY_ID] = category_id
            record = tuple(values)
        records.append(record)
    if records:
        driver = await _raw(session)
        await driver.copy_records_to_table(
            "import_rows", records=records, columns=list(STAGING_COLUMNS)
        )
    return errors


async def forget_after(session: AsyncSession, job_id: int, row: int) -> None:
    """Drop what a run that did not reach its next checkpoint may have left (none normally:
    batches commit with their checkpoint), and every error of a run that starts over."""
    await session.execute(
        text('DELETE FROM import_rows WHERE job_id = :job AND "row" > :row'),
        {"job": job_id, "row": row},
    )
    await session.execute(
        text('DELETE FROM job_errors WHERE job_id = :job AND ("row" IS NULL OR "row" > :row)'),
        {"job": job_id, "row": row},
    )


async def staged_count(session: AsyncSession, job_id: int) -> int:
    result = await session.execute(
        text("SELECT count(*) FROM import_rows WHERE job_id = :job"), {"job": job_id}
    )
    return int(result.scalar_one())


async def discard(session: AsyncSession, job_id: int) -> None:
    await session.execute(text("DELETE FROM import_rows WHERE job_id = :job"), {"job": job_id})


_CATEGORY_PATHS = """
    SELECT c.id, c.slug, lower(
        (SELECT string_agg(a.name, ' > ' ORDER BY p.ord)
           FROM unnest(c.path || c.id) WITH ORDINALITY AS p(id, ord)
           JOIN categories a ON a.id = p.id)
    ) AS full_path
    FROM categories c
"""


UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
UNKNOWN_CATEGORY_MESSAGE = (
    'No category has this slug, or this path of names from the root (e.g. "Audio > Headphones").'
)


async def resolve_categories(session: AsyncSession, cells: Sequence[str]) -> dict[str, int | None]:
    """The category of each (non-empty) staged category cell: the category with this slug,
    else the one whose path of names from the root is the cell (any case); None if none, or
    several."""
    if not cells:
        return {}
    result = await session.execute(
        text(
            f"""
        WITH paths AS ({_CATEGORY_PATHS})
        SELECT k.category, coalesce(
            (SELECT id FROM paths WHERE slug = k.category),
            (SELECT min(id) FROM paths WHERE full_path = lower(k.category) HAVING count(*) = 1)
        )
        FROM unnest(CAST(:cells AS text[])) AS k(category)
        """  # noqa: S608 (constant fragments; values are bound)
        ),
        {"cells": list(cells)},
    )
    return {cell: category_id for cell, category_id in result.all()}


async def finalize(session: AsyncSession, job_id: int) -> None:
    """Whole-file and catalog checks (see the module); errors recorded, rows marked invalid."""
    params = {"job": job_id}
    # The statements below and apply's join the products: statistics far behind the table
    # (an import into a catalog that was empty at its last ANALYZE, before autovacuum came
    # round) make the planner scan it once per staged row, for minutes. Analyzed here when
    # that many rows changed since (as autovacuum would, only sooner).
    stale = await session.execute(
        text("""
        SELECT s.n_mod_since_analyze > 0.2 * greatest(c.reltuples, 0) + 1000
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.relid = 'products'::regclass
        """)
    )
    if stale.scalar_one_or_none():
        await session.execute(text("ANALYZE products"))
    # Fresh statistics for the rows just staged, or the planner takes the table for empty and
    # joins it row by row (a 20,000-row file then takes seconds instead of milliseconds). A
    # small sample is enough for that (the row count is what matters) and costs far less.
    await session.execute(text("SET LOCAL default_statistics_target = 10"))
    # SKIP_LOCKED: never wait for an autovacuum of the table (it is cancelled only after
    # deadlock_timeout, a second); the sizes the planner reads from the table do then.
    await session.execute(text("ANALYZE (SKIP_LOCKED) import_rows"))
    await session.execute(
        text("""
        WITH rows AS (
            SELECT "row", count(*) OVER w AS n, min("row") OVER w AS first
            FROM import_rows WHERE job_id = :job AND sku IS NOT NULL
            WINDOW w AS (PARTITION BY sku)
        )
        INSERT INTO job_errors (job_id, "row", "column", code, message)
        SELECT :job, "row", 'sku', 'DUPLICATE_SKU',
               'This SKU is on ' || n || ' rows of the file (first on row ' || first
               || '); each product may appear once.'
        FROM rows WHERE n > 1 ORDER BY "row"
        """),
        params,
    )
    await session.execute(
        text("""
        INSERT INTO job_errors (job_id, "row", "column", code, message)
        SELECT :job, r."row", m.column_name, 'MISSING_VALUE',
               'A new product (this SKU is not in the catalog) needs a ' || m.column_name || '.'
        FROM import_rows r
        CROSS JOIN LATERAL (VALUES ('name', r.name IS NULL), ('price', r.price IS NULL))
            AS m(column_name, missing)
        WHERE r.job_id = :job AND r.valid AND m.missing
          AND NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = r.sku)
        ORDER BY r."row"
        """),
        params,
    )
    # A price or a currency alone must suit the product's other value (updateProduct's rule,
    # applied in Python: only currencies without cents can refuse a price).
    mismatched = await session.stream(
        text("""
        SELECT r."row", coalesce(r.price, p.price), coalesce(r.currency, p.currency)
        FROM import_rows r JOIN products p ON p.sku = r.sku
        WHERE r.job_id = :job AND r.valid AND (r.price IS NULL) <> (r.currency IS NULL)
          AND coalesce(r.currency, p.currency) = ANY(:whole)
        """),
        {**params, "whole": _WHOLE_CURRENCIES},
    )
    errors: list[ErrorRow] = []
    async for row, price, currency in mismatched:
        problem = price_in_currency_problem(price, currency)
        if problem:
            errors.append((row, problem.field, problem.code, problem.message))
    if errors:
        await session.execute(
            text(
                'INSERT INTO job_errors (job_id, "row", "column", code, message) '
                "VALUES (:job, :row, :column, :code, :message)"
            ),
            [
                {"job": job_id, "row": r, "column": c, "code": code, "message": m}
                for r, c, code, m in errors
            ],
        )
    await session.execute(
        text("""
        UPDATE import_rows r SET valid = false
        WHERE r.job_id = :job AND r.valid AND EXISTS (
            SELECT 1 FROM job_errors e WHERE e.job_id = :job AND e."row" = r."row")
        """),
        params,
    )


async def failed_count(session: AsyncSession, job_id: int) -> int:
    """How many staged rows are invalid (have errors)."""
    result = await session.execute(
        text("SELECT count(*) FROM import_rows WHERE job_id = :job AND NOT valid"),
        {"job": job_id},
    )
    return int(result.scalar_one())


async def count(session: AsyncSession, job_id: int) -> Summary:
    result = await session.execute(
        text(
            f"""
        SELECT
            count(*) FILTER (WHERE NOT r.valid),
            count(*) FILTER (WHERE r.valid AND p.id IS NULL),
            count(*) FILTER (WHERE r.valid AND p.id IS NOT NULL AND {_CHANGES}),
            count(*) FILTER (WHERE r.valid AND p.id IS NOT NULL AND NOT {_CHANGES})
        FROM import_rows r LEFT JOIN products p ON p.sku = r.sku
        WHERE r.job_id = :job
        """  # noqa: S608 (constant fragments; values are bound)
        ),
        {"job": job_id},
    )
    failed, created, updated, unchanged = result.one()
    return Summary(created=created, updated=updated, unchanged=unchanged, failed=failed)


class CatalogChanged(Exception):
    """The catalog changed under the import in a way its rows no longer fit (a category
    deleted, a product deleted since validation): the import must run again."""


async def _assign_slugs(session: AsyncSession, job_id: int) -> None:
    """`import_new.slug` for every new product: its name's slug, numbered like
    createProduct's when taken (by a product, or by another row of the file)."""
    crowded = (
        await session.execute(
            text("""
            SELECT slug_base, array_agg("row" ORDER BY "row") FROM import_new n
            WHERE n.group_size > 1 OR EXISTS (SELECT 1 FROM products p WHERE p.slug = n.slug_base)
            GROUP BY slug_base ORDER BY min("row")
            """)
        )
    ).all()
    assigned: set[str] = set()
    rows: list[int] = []
    slugs: list[str] = []
    for base, group_rows in crowded:
        start = 1
        wanted = len(group_rows)
        free: list[str] = []
        while len(free) < wanted:
            candidates = slug_candidates(
                base, PRODUCT_SLUG_LENGTH, range(start, start + wanted + 100)
            )
            taken = set(
                (
                    await session.execute(
                        text("""
                        SELECT slug FROM products WHERE slug = ANY(:c)
                        UNION SELECT slug_base FROM import_new
                        WHERE slug_base = ANY(:c) AND slug_base <> :base
                        """),
                        {"c": candidates, "base": base},
                    )
                ).scalars()
            )
            free += [c for c in candidates if c not in taken and c not in assigned]
            start += wanted + 100
        chosen = free[:wanted]
        assigned.update(chosen)
        rows += group_rows
        slugs += chosen
    if rows:
        await session.execute(
            text("""
            UPDATE import_new n SET slug = v.slug
            FROM unnest(CAST(:rows AS bigint[]), CAST(:slugs AS text[])) AS v("row", slug)
            WHERE n."row" = v."row"
            """),
            {"rows": rows, "slugs": slugs},
        )


async def apply(session: AsyncSession, job_id: int) -> tuple[Summary, list[int]]:
    """Apply the valid staged rows; the counts, and the ids of published products whose
    price, stock or status changed (to announce after the commit). Raises CatalogChanged."""
    params = {"job": job_id}
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLY_LOCK_KEY})
    wanted = set(
        (
            await session.execute(
                text("""
                SELECT DISTINCT category_id FROM import_rows
                WHERE job_id = :job AND valid AND category_id IS NOT NULL
                """),
                params,
            )
        ).scalars()
    )
    if wanted:
        locked = set(
            (
                await session.execute(
                    text("SELECT id FROM categories WHERE id = ANY(:ids) FOR SHARE"),
                    {"ids": sorted(wanted)},
                )
            ).scalars()
        )
        if locked != wanted:
            raise CatalogChanged("a category named in the file was deleted during the import")
    counts = await count(session, job_id)
    announced = list(
        (
            await session.execute(
                text(
                    f"""
                SELECT p.id FROM import_rows r JOIN products p ON p.sku = r.sku
                WHERE r.job_id = :job AND r.valid AND {_VISIBLE_CHANGES}
                """  # noqa: S608 (constant fragments; values are bound)
                ),
                params,
            )
        ).scalars()
    )
    await session.execute(
        text("""
        CREATE TEMP TABLE import_new ON COMMIT DROP AS
        SELECT r."row", r.slug_base, count(*) OVER (PARTITION BY r.slug_base) AS group_size,
               r.slug_base AS slug
        FROM import_rows r
        WHERE r.job_id = :job AND r.valid
          AND NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = r.sku)
        """),
        params,
    )
    await session.execute(text("ANALYZE import_new"))
    incomplete = await session.execute(
        text("""
        SELECT count(*) FROM import_new n
        JOIN import_rows r ON r.job_id = :job AND r."row" = n."row"
        WHERE r.name IS NULL OR r.price IS NULL
        """),
        params,
    )
    if incomplete.scalar_one():
        raise CatalogChanged("a product the file updates was deleted during the import")
    await _assign_slugs(session, job_id)
    new_published = (
        await session.execute(
            text("""
            WITH created AS (
                INSERT INTO products (sku, name, slug, description, price, currency, stock,
                                      status, category_id, attributes, images)
                SELECT r.sku, r.name, n.slug, coalesce(r.description, ''), r.price,
                       coalesce(r.currency, 'USD'), coalesce(r.stock, 0),
                       coalesce(r.status, 'draft'), r.category_id, coalesce(r.attributes, '{}'),
                       coalesce(r.images, '[]')
                FROM import_new n JOIN import_rows r ON r.job_id = :job AND r."row" = n."row"
                ORDER BY n."row"
                RETURNING id, status
            )
            SELECT id FROM created WHERE status = 'published'
            """),
            params,
        )
    ).scalars()
    announced += list(new_published)
    await session.execute(
        text(
            f"""
        UPDATE products p SET
            name = coalesce(r.name, p.name),
            description = coalesce(r.description, p.description),
            price = coalesce(r.price, p.price),
            currency = coalesce(r.currency, p.currency),
            stock = coalesce(r.stock, p.stock),
            status = coalesce(r.status, p.status),
            category_id = CASE WHEN r.category IS NULL THEN p.category_id ELSE r.category_id END,
            attributes = coalesce(r.attributes, p.attributes),
            images = coalesce(r.images, p.images),
            updated_at = now()
        FROM import_rows r
        WHERE r.job_id = :job AND r.valid AND p.sku = r.sku
          AND NOT EXISTS (SELECT 1 FROM import_new n WHERE n."row" = r."row")
          AND {_CHANGES}
        """  # noqa: S608 (constant fragments; values are bound)
        ),
        params,
    )
    await discard(session, job_id)
    return counts, announced
