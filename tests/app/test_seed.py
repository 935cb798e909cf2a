"""`catalog seed`: deterministic, well-formed demo data, loaded straight into PostgreSQL.

Every test depends on `client` only for its side effect: empty tables (conftest truncates every
table on `Base.metadata`, which includes the catalog once `db.models` is imported).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import pytest

import db.models  # noqa: F401  (registers the catalog tables for conftest's truncation)
from app.cli import build_parser
from app.seed import (
    SEED_PASSWORD,
    CatalogNotEmptyError,
    SeedError,
    SeedSummary,
    asyncpg_dsn,
    seed_catalog,
    seed_dev_catalog,
)
from app.settings import Settings

SMALL = {"categories": 12, "products": 200, "users": 40, "reviews": 1500}

# Whole rows (timestamps, search vectors and all) in id order: equal only if every row is.
CHECKSUMS = """
SELECT (SELECT md5(string_agg(c::text, '|' ORDER BY c.id)) FROM categories AS c) AS categories,
       (SELECT md5(string_agg(p::text, '|' ORDER BY p.id)) FROM products AS p) AS products,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.id)) FROM reviews AS r) AS reviews,
       -- Not password_hash: argon2 salts it randomly, and it is one value for all anyway.
       (SELECT md5(string_agg(concat_ws(',', id, email, name, role, created_at), '|'
                              ORDER BY id))
        FROM users WHERE email LIKE '%@seed.example.com') AS users
"""


async def fetch(settings: Settings, sql: str, *args: Any) -> list[Any]:
    assert settings.database_url
    connection = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        rows: list[Any] = await connection.fetch(sql, *args)
        return rows
    finally:
        await connection.close()


async def value(settings: Settings, sql: str, *args: Any) -> Any:
    rows = await fetch(settings, sql, *args)
    return rows[0][0]


async def seed(
    settings: Settings, *, seed: int = 42, reset: bool = False, sizes: dict[str, int] = SMALL
) -> SeedSummary:
    assert settings.database_url
    return await seed_catalog(
        settings.database_url, **sizes, seed=seed, progress=False, reset=reset
    )


@pytest.mark.usefixtures("client")
async def test_same_seed_gives_identical_rows_and_keeps_other_users(settings: Settings) -> None:
    # A real account (the demo admin, say) exists first: seeded users go after it.
    await fetch(
        settings,
        "INSERT INTO users (email, name, password_hash, role)"
        " VALUES ('admin@example.com', 'Admin', 'x', 'admin')",
    )
    summary = await seed(settings)
    assert (summary.categories, summary.products, summary.users, summary.reviews) == (
        12,
        200,
        40,
        1500,
    )
    assert summary.password == SEED_PASSWORD
    first = dict((await fetch(settings, CHECKSUMS))[0])

    await seed(settings, reset=True)
    assert dict((await fetch(settings, CHECKSUMS))[0]) == first
    assert await value(settings, "SELECT count(*) FROM users WHERE email = 'admin@example.com'")
    assert await value(settings, "SELECT min(id) FROM users WHERE email LIKE 'user%@seed%'") == 2

    await seed(settings, seed=43, reset=True)
    other = dict((await fetch(settings, CHECKSUMS))[0])
    assert other["products"] != first["products"]
    assert other["reviews"] != first["reviews"]


@pytest.mark.usefixtures("client")
async def test_category_tree_has_exactly_three_levels(settings: Settings) -> None:
    await seed(settings)
    depth = await value(settings, "SELECT max(coalesce(array_length(path, 1), 0)) FROM categories")
    assert depth == 2
    # Every root and every subcategory has children, so every branch is three deep.
    childless_inner = await value(
        settings,
        "SELECT count(*) FROM categories AS c WHERE coalesce(array_length(c.path, 1), 0) < 2"
        " AND NOT EXISTS (SELECT FROM categories AS k WHERE k.parent_id = c.id)",
    )
    assert childless_inner == 0
    # `path` is the parent's path plus the parent, and walking down from the roots finds all.
    inconsistent = await value(
        settings,
        "SELECT count(*) FROM categories AS c LEFT JOIN categories AS p ON p.id = c.parent_id"
        " WHERE c.path IS DISTINCT FROM"
        " (CASE WHEN p.id IS NULL THEN '{}' ELSE p.path || p.id END)",
    )
    assert inconsistent == 0
    reachable = await value(
        settings,
        "WITH RECURSIVE tree AS (SELECT id FROM categories WHERE parent_id IS NULL"
        " UNION ALL SELECT c.id FROM categories AS c JOIN tree ON c.parent_id = tree.id)"
        " SELECT count(*) FROM tree",
    )
    assert reachable == 12
    slugs = await fetch(settings, "SELECT slug FROM categories")
    assert all(row["slug"].replace("-", "").isalnum() for row in slugs)
    assert all(row["slug"] == row["slug"].lower() for row in slugs)


@pytest.mark.usefixtures("client")
async def test_rows_are_unique_and_well_formed(settings: Settings) -> None:
    await seed(settings)
    row = (
        await fetch(
            settings,
            """
            SELECT count(*) AS products,
                   count(DISTINCT p.sku) AS skus,
                   count(DISTINCT p.slug) AS slugs,
                   count(*) FILTER (WHERE p.sku !~ '^[A-Z]{3}-[0-9]{6}$') AS bad_skus,
                   count(*) FILTER (WHERE p.slug !~ '^[a-z0-9]+(-[a-z0-9]+)*$') AS bad_slugs,
                   min(p.price) AS min_price,
                   max(p.price) AS max_price,
                   count(*) FILTER (WHERE scale(p.price) <> 2) AS odd_prices,
                   count(*) FILTER (WHERE p.currency <> 'USD') AS other_currency,
                   count(*) FILTER (WHERE p.stock = 0) AS out_of_stock,
                   count(*) FILTER (WHERE p.status = 'published') AS published,
                   count(*) FILTER (WHERE jsonb_array_length(p.images) NOT BETWEEN 1 AND 4)
                     AS bad_images,
                   count(*) FILTER (WHERE NOT p.attributes ? 'color') AS no_color,
                   count(*) FILTER (WHERE c.path = '{}') AS on_roots,
                   count(*) FILTER (WHERE array_length(c.path, 1) = 2) AS on_leaves
            FROM products AS p JOIN categories AS c ON c.id = p.category_id
            """,
        )
    )[0]
    assert row["products"] == row["skus"] == row["slugs"] == 200
    assert row["bad_skus"] == row["bad_slugs"] == row["odd_prices"] == 0
    assert row["other_currency"] == row["bad_images"] == row["no_color"] == 0
    assert Decimal("1.99") <= row["min_price"] <= row["max_price"] <= Decimal("2999.00")
    assert 0 < row["out_of_stock"] < 50
    assert 150 < row["published"] < 200
    assert row["on_roots"] == 0
    assert row["on_leaves"] > 170  # mostly leaves, a few on subcategories

    reviews = (
        await fetch(
            settings,
            """
            SELECT count(*) AS reviews,
                   count(DISTINCT (r.product_id, r.user_id)) AS pairs,
                   count(*) FILTER (WHERE r.created_at <= p.created_at) AS before_product,
                   count(*) FILTER (WHERE r.status = 'approved') AS approved,
                   count(*) FILTER (WHERE r.rating >= 4) AS positive,
                   max(per_product.n) AS most
            FROM reviews AS r
            JOIN products AS p ON p.id = r.product_id
            JOIN (SELECT product_id, count(*) AS n FROM reviews GROUP BY product_id)
              AS per_product ON per_product.product_id = r.product_id
            """,
        )
    )[0]
    assert reviews["reviews"] == reviews["pairs"] == 1500
    assert reviews["before_product"] == 0
    assert 1350 < reviews["approved"] < 1500  # some pending and rejected
    assert reviews["positive"] > 750  # skewed positive
    # Power law: the most reviewed product has far more than the mean of 7.5 (cap: 40 users).
    assert reviews["most"] >= 30
    assert await value(settings, "SELECT count(DISTINCT password_hash) FROM users") == 1


@pytest.mark.usefixtures("client")
async def test_rating_aggregates_match_approved_reviews(settings: Settings) -> None:
    await seed(settings)
    mismatches = await value(
        settings,
        """
        SELECT count(*)
        FROM products AS p
        LEFT JOIN (
            SELECT product_id, count(*) AS n, sum(rating) AS total,
                   ARRAY[count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2),
                         count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4),
                         count(*) FILTER (WHERE rating = 5)]::int[] AS histogram
            FROM reviews WHERE status = 'approved' GROUP BY product_id
        ) AS a ON a.product_id = p.id
        WHERE p.rating_count <> coalesce(a.n, 0)
           OR p.rating_sum <> coalesce(a.total, 0)
           OR p.rating_average <> coalesce(round(a.total::numeric / a.n, 2), 0)
           OR p.rating_histogram <> coalesce(a.histogram, '{0,0,0,0,0}')
        """,
    )
    assert mismatches == 0
    assert await value(settings, "SELECT count(*) FROM products WHERE rating_count = 0") > 0
    assert await value(settings, "SELECT count(*) FROM products WHERE rating_count > 0") > 0


@pytest.mark.usefixtures("client")
async def test_full_text_search_finds_products_by_name(settings: Settings) -> None:
    # The `make dev` size: big enough for Laptop Accessories (stands) next to Laptops.
    await seed(settings, sizes={"categories": 30, "products": 300, "users": 50, "reviews": 1500})
    for tsquery, pattern in (
        ("lapt:*", "\\mlapt"),  # a prefix, as typed into a search box
        ("laptop", "\\mlaptop"),
        ("stand", "\\mstand"),
        ("wireless", "\\mwireless"),
    ):
        named = {
            row["id"]
            for row in await fetch(settings, "SELECT id FROM products WHERE name ~* $1", pattern)
        }
        found = await fetch(
            settings,
            "SELECT id, name, description FROM products"
            " WHERE search_vector @@ to_tsquery('english', $1)",
            tsquery,
        )
        # The tree starts Electronics > Computers > Laptops, so each word is in some names.
        assert named, tsquery
        assert named <= {row["id"] for row in found}, tsquery
        word = pattern.removeprefix("\\m")
        assert all(word in f"{row['name']} {row['description']}".lower() for row in found)


@pytest.mark.usefixtures("client")
async def test_refuses_a_non_empty_catalog_without_reset(settings: Settings) -> None:
    await seed(settings)
    before = await value(settings, "SELECT md5(string_agg(p::text, '|')) FROM products AS p")
    with pytest.raises(CatalogNotEmptyError, match="--reset"):
        await seed(settings)
    after = await value(settings, "SELECT md5(string_agg(p::text, '|')) FROM products AS p")
    assert after == before


@pytest.mark.usefixtures("client")
async def test_refuses_impossible_sizes(settings: Settings) -> None:
    assert settings.database_url
    with pytest.raises(SeedError, match="at least 3"):
        await seed_catalog(
            settings.database_url, categories=2, products=1, users=1, reviews=0, seed=1
        )
    with pytest.raises(SeedError, match="do not fit"):
        await seed_catalog(
            settings.database_url, categories=3, products=2, users=2, reviews=5, seed=1
        )
    assert await value(settings, "SELECT count(*) FROM categories") == 0


@pytest.mark.usefixtures("client")
async def test_dev_catalog_is_seeded_once(settings: Settings) -> None:
    assert settings.database_url
    summary = await seed_dev_catalog(settings.database_url)
    assert summary is not None
    assert summary.products == 300
    assert await seed_dev_catalog(settings.database_url) is None
    assert await value(settings, "SELECT count(*) FROM products") == 300


def test_seed_command_defaults() -> None:
    args = build_parser().parse_args(["seed"])
    sizes = (args.categories, args.products, args.users, args.reviews, args.seed, args.reset)
    assert sizes == (200, 20_000, 2_000, 100_000, 42, False)
