"""A small made-up dataset in the bench database, for proving the harness without `app.seed`.

    python -m bench.scratch --products 2000
    python -m bench.run --data-dir .data/bench-scratch --skip-seed --reference-only --duration 5

It recreates `catalog_bench` (on DATABASE_URL's server when set, else on the embedded services
under --data-dir, default `.data/bench-scratch`: never the real bench data), migrates it and
fills it with plain SQL: a two-level category tree, products (some drafts, archived or out of
stock; names such as "Wireless Speaker 17"), users and reviews (some pending), with the
products' rating aggregates computed from the approved reviews. It marks the database as scratch
data, so a later `bench.run` without --skip-seed reseeds it properly.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from string import Template

from app.settings import PROJECT_ROOT
from bench.dataset import (
    analyze,
    connect,
    database_name,
    migrate,
    recreate_database,
    resolve_servers,
    write_marker,
)

SCRATCH_SQL = Template("""
INSERT INTO users (email, name, password_hash)
SELECT 'user' || g || '@bench.invalid', 'User ' || g, 'not-a-hash'
FROM generate_series(1, ${users}) AS g;

INSERT INTO categories (name, slug, description)
SELECT 'Department ' || g, 'department-' || g, 'Top level ' || g
FROM generate_series(1, 5) AS g;

INSERT INTO categories (parent_id, path, name, slug)
SELECT root.id, ARRAY[root.id], root.name || ' / Aisle ' || g, root.slug || '-aisle-' || g
FROM categories AS root, generate_series(1, 4) AS g
WHERE root.parent_id IS NULL;

INSERT INTO products (sku, name, slug, description, price, stock, status, category_id,
                      attributes, images, created_at)
SELECT 'SKU-' || lpad(g::text, 6, '0'),
       (ARRAY['Wireless', 'Compact', 'Deluxe', 'Classic', 'Smart'])[1 + g % 5] || ' '
         || (ARRAY['Headphones', 'Speaker', 'Keyboard', 'Lamp', 'Kettle', 'Backpack'])[1 + g % 6]
         || ' ' || g,
       'product-' || g,
       'Product number ' || g || ', made up for the benchmark harness.',
       round((3 + (g * 37) % 700)::numeric + 0.99, 2),
       (g * 7) % 13,
       (CASE WHEN g % 10 = 0 THEN 'draft' WHEN g % 17 = 0 THEN 'archived'
             ELSE 'published' END)::product_status,
       CASE WHEN g % 50 = 3 THEN NULL ELSE leaves.ids[1 + g % cardinality(leaves.ids)] END,
       jsonb_build_object('color', (ARRAY['black', 'white', 'red'])[1 + g % 3], 'weight', g % 9),
       jsonb_build_array(jsonb_build_object('url', 'https://img.invalid/' || g || '.jpg',
                                            'alt', 'Product ' || g)),
       now() - make_interval(mins => g)
FROM generate_series(1, ${products}) AS g,
     (SELECT array_agg(id ORDER BY id) AS ids FROM categories WHERE parent_id IS NOT NULL)
       AS leaves;

INSERT INTO reviews (product_id, user_id, rating, title, body, status, created_at)
SELECT p.id,
       1 + (p.id * 31 + j) % ${users},
       1 + (p.id + j * 3) % 5,
       'Review ' || j || ' of ' || p.name,
       'What user ' || j || ' thought of it, at some length. ' || repeat('Fine. ', j),
       (CASE WHEN j % 7 = 0 THEN 'pending' ELSE 'approved' END)::review_status,
       p.created_at + make_interval(hours => j)
FROM products AS p, generate_series(1, (p.id % ${reviews})::int) AS j;

UPDATE products AS p
SET rating_count = s.n,
    rating_sum = s.total,
    rating_average = round(s.total::numeric / s.n, 2),
    rating_histogram = s.histogram
FROM (
  SELECT product_id, count(*) AS n, sum(rating) AS total,
         ARRAY[count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2),
               count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4),
               count(*) FILTER (WHERE rating = 5)]::int[] AS histogram
  FROM reviews WHERE status = 'approved' GROUP BY product_id
) AS s
WHERE s.product_id = p.id;
""")


async def insert_scratch(url: str, *, products: int, users: int, max_reviews: int) -> None:
    """Fill the (migrated, empty) database `url` with the scratch dataset."""
    if users <= max_reviews:
        raise ValueError("users must exceed max_reviews (one review per user and product)")
    connection = await connect(url)
    try:
        async with connection.transaction():
            values = {"users": users, "products": products, "reviews": max_reviews + 1}
            script = SCRATCH_SQL.substitute({key: int(value) for key, value in values.items()})
            await connection.execute(script)
    finally:
        await connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scratch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / ".data" / "bench-scratch")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--max-reviews", type=int, default=11, help="per product")
    args = parser.parse_args(argv)
    servers = resolve_servers(args.data_dir)
    asyncio.run(recreate_database(servers.admin_url, database_name(servers.bench_url)))
    migrate(servers.bench_url)
    asyncio.run(
        insert_scratch(
            servers.bench_url,
            products=args.products,
            users=args.users,
            max_reviews=args.max_reviews,
        )
    )
    asyncio.run(analyze(servers.bench_url))
    asyncio.run(write_marker(servers.bench_url, {"kind": "scratch", "products": args.products}))
    print(f"scratch dataset ({args.products} products) in {servers.bench_url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
