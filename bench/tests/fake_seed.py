"""Stands in for `app.seed` in the harness's tests: records its calls, inserts scratch data."""

from __future__ import annotations

from typing import Any

from bench.scratch import insert_scratch

calls: list[dict[str, Any]] = []


async def seed_catalog(
    database_url: str,
    *,
    categories: int,
    products: int,
    users: int,
    reviews: int,
    seed: int,
    progress: bool = True,
) -> None:
    calls.append(
        {
            "database_url": database_url,
            "categories": categories,
            "products": products,
            "users": users,
            "reviews": reviews,
            "seed": seed,
            "progress": progress,
        }
    )
    # Fails on a non-empty catalog (duplicate SKUs), as the real seed refuses one.
    await insert_scratch(database_url, products=products, users=users, max_reviews=3)
