"""Fixtures for the harness's own tests (`.venv/bin/pytest bench/tests`; not part of make test).

PostgreSQL and Redis: DATABASE_URL / REDIS_URL when set, else embedded servers under
`.data/bench-test` (never `.data/bench`), with a database of its own, `catalog_bench_test`,
holding the small scratch dataset of bench/scratch.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from app.settings import PROJECT_ROOT
from bench.dataset import Servers, database_name, migrate, recreate_database, resolve_servers
from bench.scratch import insert_scratch

TEST_DATABASE = "catalog_bench_test"
SCRATCH_PRODUCTS = 150  # 3 pages of 50 published ones, give or take
T = TypeVar("T")


def off_loop(function: Callable[[], T]) -> T:
    """Run blocking code that starts its own event loop (asyncio.run, Alembic) in a thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function).result()


@pytest.fixture(scope="session")
def servers() -> Servers:
    # Not pytest's tmp_path: PostgreSQL runs as an unprivileged user when we are root, and
    # pytest's directories are private to us.
    return resolve_servers(PROJECT_ROOT / ".data" / "bench-test", TEST_DATABASE)


def fill_scratch(url: str, admin_url: str) -> None:
    asyncio.run(recreate_database(admin_url, database_name(url)))
    migrate(url)
    asyncio.run(insert_scratch(url, products=SCRATCH_PRODUCTS, users=50, max_reviews=11))


@pytest.fixture(scope="session")
def scratch_url(servers: Servers) -> str:
    """The test database, recreated, migrated and filled with the scratch dataset."""
    off_loop(lambda: fill_scratch(servers.bench_url, servers.admin_url))
    return servers.bench_url
