"""A deterministic, realistic catalog for development and benchmarks (`catalog seed`).

Everything derives from one `random.Random(seed)` and a fixed reference date, so the same
arguments always produce the same rows, ids included: that is what lets a benchmark or a bug
report point at "product 4217" and mean the same thing on every machine. Ids are therefore
written explicitly, which is why seeding needs an empty catalog (or `--reset`).

Rows are generated in Python and bulk-loaded with binary COPY over a raw asyncpg connection in a
single transaction: ORM inserts would take minutes for 100k reviews, COPY takes seconds, and one
transaction means a failed seed leaves nothing half-written behind.

The shape of the data is meant to look like a real shop's: a three-level category tree, product
names and descriptions built from per-department word lists (so searches such as "laptop" or
"wireless" find sensible things), log-normal prices, a power-law spread of reviews over products
(a few products have hundreds, most have a handful or none) and positively skewed ratings.

The package, one concept a module:

    load                    `seed_catalog`: checks, the one transaction, COPY, sequences,
                            rating aggregates, ANALYZE; `seed_dev_catalog` for `make dev`
    generate_categories     the three-level category tree
    generate_products       products: names, prices, descriptions, attributes, images
    generate_people         the seeded users and the reviews they write
    parameters              fixed parameters: reference date, shares and skews, the accounts
    outcome                 `SeedSummary`, and `SeedError` for a refused seed
    progress                a progress bar per phase on stderr (terminals only)
    vocabulary_catalog      what a department is; brands, colours and other shared words
    vocabulary_departments  the departments: category trees and product words (two modules)
    vocabulary_people       customers' names, review titles and text, moderation reasons
"""

from __future__ import annotations

from app.seed.load import asyncpg_dsn, seed_catalog, seed_dev_catalog
from app.seed.outcome import CatalogNotEmptyError, SeedError, SeedSummary
from app.seed.parameters import SEED_EMAIL_DOMAIN, SEED_PASSWORD

__all__ = [
    "SEED_EMAIL_DOMAIN",
    "SEED_PASSWORD",
    "CatalogNotEmptyError",
    "SeedError",
    "SeedSummary",
    "asyncpg_dsn",
    "seed_catalog",
    "seed_dev_catalog",
]
