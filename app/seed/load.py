"""`seed_catalog`: generate the dataset and load it into PostgreSQL, all in one transaction.

Binary COPY over a raw asyncpg connection, one table after the other; then the identity
sequences are moved past the explicit ids and the products' rating aggregates are computed
from their approved reviews. ANALYZE runs after the commit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from random import Random
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from app.seed.generate_categories import build_categories
from app.seed.generate_people import build_reviews, build_users
from app.seed.generate_products import build_products
from app.seed.outcome import CatalogNotEmptyError, SeedError, SeedSummary
from app.seed.parameters import HISTORY, REFERENCE_DATE, SEED_EMAIL_DOMAIN, SEED_PASSWORD
from app.seed.progress import Progress
from db.session import libpq_url
from resolvers.users.passwords import hash_password

CATEGORY_COLUMNS = (
    "id", "parent_id", "path", "name", "slug", "description", "created_at", "updated_at",
)  # fmt: skip
PRODUCT_COLUMNS = (
    "id", "sku", "name", "slug", "description", "price", "currency", "stock", "status",
    "category_id", "attributes", "images", "rating_count", "rating_sum", "rating_average",
    "rating_histogram", "created_at", "updated_at",
)  # fmt: skip
USER_COLUMNS = (
    "id", "email", "name", "password_hash", "role", "is_active", "created_at", "updated_at",
    "last_login_at",
)  # fmt: skip
REVIEW_COLUMNS = (
    "id", "product_id", "user_id", "rating", "title", "body", "status", "moderation_reason",
    "created_at", "updated_at",
)  # fmt: skip

SEEDED_USERS_PATTERN = f"%@{SEED_EMAIL_DOMAIN}"  # LIKE pattern over lower(email)

# Explicit ids leave the identity sequences behind: move each one past its table's data.
ADVANCE_SEQUENCES = """
SELECT setval(pg_get_serial_sequence('categories', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM categories), false),
       setval(pg_get_serial_sequence('products', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM products), false),
       setval(pg_get_serial_sequence('users', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM users), false),
       setval(pg_get_serial_sequence('reviews', 'id'),
              (SELECT coalesce(max(id), 0) + 1 FROM reviews), false)
"""

RATING_AGGREGATES = """
UPDATE products AS p
SET rating_count = a.n,
    rating_sum = a.total,
    rating_average = round(a.total::numeric / a.n, 2),
    rating_histogram = ARRAY[a.r1, a.r2, a.r3, a.r4, a.r5]
FROM (
    SELECT product_id,
           count(*)::int AS n,
           sum(rating)::int AS total,
           (count(*) FILTER (WHERE rating = 1))::int AS r1,
           (count(*) FILTER (WHERE rating = 2))::int AS r2,
           (count(*) FILTER (WHERE rating = 3))::int AS r3,
           (count(*) FILTER (WHERE rating = 4))::int AS r4,
           (count(*) FILTER (WHERE rating = 5))::int AS r5
    FROM reviews
    WHERE status = 'approved'
    GROUP BY product_id
) AS a
WHERE p.id = a.product_id
"""


asyncpg_dsn = libpq_url


def _validate(categories: int, products: int, users: int, reviews: int) -> None:
    if min(categories, products, users, reviews) < 0:
        raise SeedError("sizes must not be negative")
    if categories < 3:
        raise SeedError("--categories must be at least 3 (the tree has three levels)")
    if reviews > products * users:
        raise SeedError(
            f"{reviews} reviews do not fit: each of the {users} users can review each of the "
            f"{products} products once (at most {products * users})"
        )


async def _refuse_unless_empty(connection: Any) -> None:
    row = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM categories) AS categories,"
        " (SELECT count(*) FROM products) AS products,"
        " (SELECT count(*) FROM reviews) AS reviews,"
        " (SELECT count(*) FROM users WHERE lower(email) LIKE $1) AS seeded_users",
        SEEDED_USERS_PATTERN,
    )
    found = {key: int(value) for key, value in row.items() if value}
    if found:
        listed = ", ".join(f"{count} {key.replace('_', ' ')}" for key, count in found.items())
        raise CatalogNotEmptyError(
            f"the catalog is not empty ({listed}); seeding writes fixed ids, so it needs empty "
            "tables: pass --reset to delete the catalog, its reviews, orders and carts and the "
            "seeded users first"
        )


async def _copy(
    connection: Any, progress: Progress, table: str, columns: Sequence[str], rows: Sequence[Any]
) -> None:
    await connection.copy_records_to_table(
        table, columns=list(columns), records=progress.track(table, rows)
    )


async def seed_catalog(
    database_url: str,
    *,
    categories: int,
    products: int,
    users: int,
    reviews: int,
    seed: int,
    progress: bool = True,
    reset: bool = False,
) -> SeedSummary:
    """Fill an empty catalog with a deterministic dataset; `reset` empties it first.

    Same arguments, same rows: ids, names, timestamps and all, except the seeded users'
    password hash (argon2 salts it at random; the password is SEED_PASSWORD). Seeded users
    (emails @seed.example.com) take the ids after the existing accounts, so their ids repeat
    as long as the other accounts do.

    Raises CatalogNotEmptyError when categories, products, reviews or seeded users exist and
    `reset` is false, and SeedError for impossible sizes. Everything happens in one
    transaction, then the tables are analyzed.
    """
    _validate(categories, products, users, reviews)
    started = time.perf_counter()
    bars = Progress(progress)
    # Reproducible on purpose (S311 is about secrets): the seed is the whole point.
    rng = Random(seed)  # noqa: S311
    start = int((REFERENCE_DATE - HISTORY).timestamp())
    end = int(REFERENCE_DATE.timestamp())
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            if reset:
                # Orders and carts name the products being replaced: they go with them.
                await connection.execute(
                    "TRUNCATE reviews, cart_lines, order_events, order_lines, idempotency_keys, "
                    "orders, products, categories RESTART IDENTITY"
                )
                await connection.execute(
                    "DELETE FROM users WHERE lower(email) LIKE $1", SEEDED_USERS_PATTERN
                )
            # Nobody may add rows while we pick ids; readers are not blocked.
            await connection.execute(
                "LOCK TABLE categories, products, reviews, users IN SHARE ROW EXCLUSIVE MODE"
            )
            await _refuse_unless_empty(connection)
            # Users are shared with real accounts (the demo admin): seeded ones go after them.
            last_id = await connection.fetchval("SELECT coalesce(max(id), 0) FROM users")
            first_user_id = int(last_id) + 1
            # One hash for every seeded user: argon2 is deliberately slow (~50 ms each).
            password_hash = await hash_password(SEED_PASSWORD)

            tree = build_categories(rng, categories, start)
            category_rows = [category.row() for category in tree]
            await _copy(connection, bars, "categories", CATEGORY_COLUMNS, category_rows)
            # Products appear after the tree is built (the first four weeks) up to two days
            # before the reference date, so every one can have reviews after it.
            catalog = build_products(rng, tree, products, start + 28 * 86400, end - 2 * 86400)
            await _copy(connection, bars, "products", PRODUCT_COLUMNS, catalog.rows)
            user_rows, user_created = build_users(
                rng, users, first_user_id, password_hash, start, end - 86400
            )
            await _copy(connection, bars, "users", USER_COLUMNS, user_rows)
            review_rows = build_reviews(
                rng, bars, catalog, user_created, first_user_id, reviews, end
            )
            await _copy(connection, bars, "reviews", REVIEW_COLUMNS, review_rows)

            await connection.execute(ADVANCE_SEQUENCES)
            with bars.phase("ratings"):
                await connection.execute(RATING_AGGREGATES)
            totals = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM reviews WHERE status = 'approved') AS approved,"
                " (SELECT count(*) FROM products WHERE rating_count > 0) AS rated"
            )
        # Statistics now rather than whenever autovacuum gets round to it, so the very first
        # queries are planned for the real sizes; after commit, so no lock is held meanwhile.
        with bars.phase("analyze"):
            await connection.execute("ANALYZE categories, products, users, reviews")
    finally:
        await connection.close()
    return SeedSummary(
        categories=len(category_rows),
        products=len(catalog.rows),
        users=len(user_rows),
        reviews=len(review_rows),
        approved_reviews=int(totals["approved"]),
        rated_products=int(totals["rated"]),
        seed=seed,
        password=SEED_PASSWORD,
        elapsed_seconds=time.perf_counter() - started,
    )


async def seed_dev_catalog(database_url: str) -> SeedSummary | None:
    """`make dev`: a small catalog the first time; None (nothing done) once there is one."""
    try:
        return await seed_catalog(
            database_url,
            categories=30,
            products=300,
            users=50,
            reviews=1500,
            seed=42,
            progress=False,
        )
    except CatalogNotEmptyError:
        return None
