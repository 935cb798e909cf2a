"""Applying an import's staged rows to the catalog, batch by batch, in the caller's transaction.

`lock` comes first: a transaction-level advisory lock, so two imports never interleave (the
later one sees the earlier one's result). Then `apply_rows` for each batch of staged rows in
row order (`batches`: the batches the reading staged), either while the file is still being
read (`workers.imports.early`) or all at the end (`apply`: a resumed run, or a file the early
path gave up on). The same statements on the same batches give the same products and slugs
either way. Per batch: new products with unique slugs numbered like createProduct's
(`db.slugs`), then one UPDATE ... FROM for the changed ones. Search vectors are generated
columns and ratings start at zero, so both are right without more work.

Nothing here commits: the caller owns the transaction (the catalog changes at its commit).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog_rules import PRODUCT_SLUG_LENGTH
from db.slugs import slug_candidates
from workers.imports.staging import CHANGES, count, discard
from workers.jobs.runner import Summary

# pg_advisory_xact_lock key of the import's apply step ("imports").
APPLY_LOCK_KEY = 0x696D706F727473
# A valid staged row `r` against its product `p`: would a storefront watching it see a change
# (price, stock, status of a published one)?
VISIBLE_CHANGES = """(
    (p.status = 'published' OR r.status = 'published')
    AND (
        (r.price IS NOT NULL AND r.price IS DISTINCT FROM p.price)
        OR (r.stock IS NOT NULL AND r.stock IS DISTINCT FROM p.stock)
        OR (r.status IS NOT NULL AND r.status IS DISTINCT FROM p.status)
    )
)"""
_IN_BATCH = 'r.job_id = :job AND r."row" BETWEEN :first AND :last'


class CatalogChanged(Exception):
    """The catalog changed under the import in a way its rows no longer fit (a category
    deleted, a product deleted since validation): the import must run again."""


def add(a: Summary, b: Summary) -> Summary:
    return Summary(
        created=a.created + b.created,
        updated=a.updated + b.updated,
        unchanged=a.unchanged + b.unchanged,
        failed=a.failed + b.failed,
    )


async def lock(session: AsyncSession) -> None:
    """Wait for any other import's apply to end; held until the caller's transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLY_LOCK_KEY})


async def plan_by_index(session: AsyncSession) -> None:
    """Every statement of a batch starts from its few thousand staged rows (the primary key)
    and finds their products by SKU (a unique index): so plan them, for the rest of the
    transaction, whatever the statistics say. They are wrong here: ANALYZE does not count
    the rows an open transaction inserted (this one's, while it applies batch after batch),
    so the planner may take `products` for empty and join it by scanning it whole, once per
    staged row (minutes). Without hash, merge, materialized or sequential scans, what is left
    is a lookup by index per staged row."""
    for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "enable_material"):
        await session.execute(text(f"SET LOCAL {setting} = off"))


async def batches(session: AsyncSession, job_id: int, size: int) -> list[tuple[int, int]]:
    """The staged rows in batches of `size` (first and last row of each), as they were
    staged: a run stages whole batches of `size` rows, and resumes after one."""
    result = await session.execute(
        text("""
        SELECT min("row"), max("row") FROM (
            SELECT "row", (row_number() OVER (ORDER BY "row") - 1) / :size AS batch
            FROM import_rows WHERE job_id = :job
        ) numbered
        GROUP BY batch ORDER BY batch
        """),
        {"job": job_id, "size": size},
    )
    return [(int(first), int(last)) for first, last in result.all()]


async def _assign_slugs(session: AsyncSession, job_id: int) -> None:
    """`import_new.slug` for every new product: its name's slug, numbered like
    createProduct's when taken (by a product, or by another row of the file)."""
    crowded = (
        await session.execute(
            text("""
            SELECT slug_base, array_agg("row" ORDER BY "row") FROM import_new n
            WHERE n.group_size > 1
               OR (SELECT p.id FROM products p WHERE p.slug = n.slug_base) IS NOT NULL
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


async def apply_rows(
    session: AsyncSession, job_id: int, rows: tuple[int, int]
) -> tuple[Summary, list[int]]:
    """Apply the valid staged rows from rows[0] to rows[1] (after `lock`); their counts, and
    the ids of published products whose price, stock or status changed (to announce after
    the commit). Raises CatalogChanged."""
    params = {"job": job_id, "first": rows[0], "last": rows[1]}
    wanted = set(
        (
            await session.execute(
                text(f"""
                SELECT DISTINCT category_id FROM import_rows r
                WHERE {_IN_BATCH} AND valid AND category_id IS NOT NULL
                """),  # noqa: S608 (constant fragments; values are bound)
                params,
            )
        ).scalars()
    )
    if wanted:
        # Kept from being deleted until the commit (FOR SHARE, held by the transaction).
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
    counts = await count(session, job_id, rows)
    announced = list(
        (
            await session.execute(
                text(
                    f"""
                SELECT p.id FROM import_rows r JOIN products p ON p.sku = r.sku
                WHERE {_IN_BATCH} AND r.valid AND {VISIBLE_CHANGES}
                """  # noqa: S608 (constant fragments; values are bound)
                ),
                params,
            )
        ).scalars()
    )
    await session.execute(
        text(f"""
        CREATE TEMP TABLE import_new ON COMMIT DROP AS
        SELECT r."row", r.slug_base, count(*) OVER (PARTITION BY r.slug_base) AS group_size,
               r.slug_base AS slug
        FROM import_rows r
        WHERE {_IN_BATCH} AND r.valid
          AND NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = r.sku)
        """),  # noqa: S608 (constant fragments; values are bound)
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
    # The products there were: updated before the new ones are inserted.
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
        WHERE {_IN_BATCH} AND r.valid AND p.sku = r.sku
          AND {CHANGES}
        """  # noqa: S608 (constant fragments; values are bound)
        ),
        params,
    )
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
    await session.execute(text("DROP TABLE import_new"))
    return counts, announced


async def apply(session: AsyncSession, job_id: int, size: int) -> tuple[Summary, list[int]]:
    """Apply every valid staged row (in batches of `size`), then drop the staged rows."""
    await lock(session)
    await plan_by_index(session)
    total = Summary()
    announced: list[int] = []
    for rows in await batches(session, job_id, size):
        counts, changed = await apply_rows(session, job_id, rows)
        total = add(total, counts)
        announced += changed
    await discard(session, job_id)
    return total, announced
