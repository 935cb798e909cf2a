"""The bench database: where it lives, creating it, migrating it, seeding it once.

The seeded dataset is remembered in the database's own comment (`COMMENT ON DATABASE`): the seed
arguments plus a hash of `app/seed.py`. A rerun whose arguments and seed code match skips the
seed; anything else (another size, a changed seed, a seed that died half way) gets a fresh
database first. Nothing is added to the schema, so migrations never see the marker.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped,unused-ignore]
from sqlalchemy.engine import make_url

from app.settings import PROJECT_ROOT
from bench.reference import asyncpg_dsn
from db.session import async_url

BENCH_DATABASE = "catalog_bench"
SEED_MODULE = "app.seed"
SEED_SOURCE = PROJECT_ROOT / "app" / "seed"


@dataclass(frozen=True)
class DatasetArgs:
    categories: int = 200
    products: int = 20_000
    users: int = 2_000
    reviews: int = 100_000
    seed: int = 42

    def describe(self) -> str:
        return (
            f"--categories {self.categories} --products {self.products} --users {self.users} "
            f"--reviews {self.reviews} --seed {self.seed}"
        )


class SeedCatalog(Protocol):
    """`app.seed.seed_catalog`, as agreed with its author."""

    async def __call__(
        self,
        database_url: str,
        *,
        categories: int,
        products: int,
        users: int,
        reviews: int,
        seed: int,
        progress: bool = True,
    ) -> Any: ...


def database_on(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url` (asyncpg driver)."""
    return make_url(async_url(server_url)).set(database=name).render_as_string(hide_password=False)


async def connect(url: str) -> Any:
    return await asyncpg.connect(asyncpg_dsn(url))


def database_name(url: str) -> str:
    name = make_url(async_url(url)).database
    if not name:
        raise ValueError(f"no database name in {url!r}")
    return name


async def ensure_database(admin_url: str, name: str) -> bool:
    """Create database `name` (connecting through `admin_url`) if missing; True if created."""
    admin = await connect(admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await admin.execute(f"CREATE DATABASE {quote_ident(name)}")
        return True
    finally:
        await admin.close()


async def recreate_database(admin_url: str, name: str) -> None:
    """Drop database `name` (disconnecting its users) and create it empty."""
    if database_name(admin_url) == name:
        raise ValueError(f"cannot recreate {name!r} through a connection to itself")
    admin = await connect(admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    finally:
        await admin.close()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def seed_fingerprint(args: DatasetArgs, *, kind: str = "seed_catalog") -> dict[str, Any]:
    # Any change to the generator's code means a different dataset: reseed.
    files = sorted(SEED_SOURCE.glob("*.py")) if SEED_SOURCE.is_dir() else [SEED_SOURCE]
    source = b"".join(path.read_bytes() for path in files if path.exists())
    return {
        "kind": kind,
        "args": asdict(args),
        "seed_sha256": hashlib.sha256(source).hexdigest()[:16],
    }


async def read_marker(url: str) -> dict[str, Any] | None:
    connection = await connect(url)
    try:
        comment: str | None = await connection.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
            " WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    if not comment:
        return None
    try:
        marker = json.loads(comment)
    except ValueError:
        return None
    return marker if isinstance(marker, dict) else None


async def write_marker(url: str, marker: Mapping[str, Any]) -> None:
    connection = await connect(url)
    try:
        name = await connection.fetchval("SELECT current_database()")
        text = json.dumps(marker, sort_keys=True).replace("'", "''")
        await connection.execute(f"COMMENT ON DATABASE {quote_ident(name)} IS '{text}'")
    finally:
        await connection.close()


async def has_catalog_rows(url: str) -> bool:
    connection = await connect(url)
    try:
        if not await connection.fetchval("SELECT to_regclass('products') IS NOT NULL"):
            return False
        return bool(await connection.fetchval("SELECT EXISTS (SELECT FROM products)"))
    finally:
        await connection.close()


async def analyze(url: str) -> None:
    connection = await connect(url)
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()


def migrate(url: str) -> None:
    from db.migrate import upgrade

    upgrade(url)


def load_seed_catalog() -> SeedCatalog:
    try:
        module = importlib.import_module(SEED_MODULE)
    except ModuleNotFoundError as error:
        if error.name != SEED_MODULE:
            raise
        raise SystemExit(
            f"bench: {SEED_MODULE} does not exist yet, so the dataset cannot be seeded. Once "
            "`catalog seed` lands this works as is; until then, pass --skip-seed with data of "
            "your own in the bench database (`python -m bench.scratch` inserts a small one)."
        ) from None
    seed: SeedCatalog = module.seed_catalog
    return seed


def prepare(admin_url: str, url: str, args: DatasetArgs, *, skip_seed: bool) -> str:
    """Create, migrate and (unless skipped or already done) seed the bench database `url`.

    `admin_url` is another database on the same server, used to create or drop it. Returns
    what happened, for the log. Blocking: runs its own event loops (Alembic's too).
    """
    name = database_name(url)
    created = asyncio.run(ensure_database(admin_url, name))
    if skip_seed:
        migrate(url)
        return "created empty, seeding skipped" if created else "seeding skipped (--skip-seed)"
    wanted = seed_fingerprint(args)
    if not created:
        marker = asyncio.run(read_marker(url))
        if marker == wanted:
            migrate(url)
            return f"already seeded with {args.describe()}"
        if marker is not None or asyncio.run(has_catalog_rows(url)):
            # Another dataset (or a seed that died half way): start from empty tables.
            print(f"bench: {name} holds other data ({marker}); recreating it", flush=True)
            asyncio.run(recreate_database(admin_url, name))
    migrate(url)
    seed_catalog = load_seed_catalog()
    print(f"bench: seeding {args.describe()} (first run only)", flush=True)
    asyncio.run(
        seed_catalog(
            url,
            categories=args.categories,
            products=args.products,
            users=args.users,
            reviews=args.reviews,
            seed=args.seed,
            progress=True,
        )
    )
    asyncio.run(analyze(url))
    asyncio.run(write_marker(url, wanted))
    return f"seeded with {args.describe()}"


async def lookup_values(url: str, statements: Mapping[str, str]) -> dict[str, Any]:
    """Run each named lookup; a lookup that finds nothing is an error naming it."""
    connection = await connect(url)
    try:
        values: dict[str, Any] = {}
        for name, sql in statements.items():
            value = await connection.fetchval(sql)
            if value is None:
                raise SystemExit(
                    f"bench: lookup {name!r} found nothing in the bench database "
                    "(is it seeded? see LOOKUPS in bench/queries.py)"
                )
            values[name] = value
        return values
    finally:
        await connection.close()


async def server_versions(url: str) -> str:
    connection = await connect(url)
    try:
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()


def dataset_counts_sql() -> str:
    return (
        "SELECT (SELECT count(*) FROM categories), "
        "(SELECT count(*) FROM products WHERE status = 'published'), "
        "(SELECT count(*) FROM products), (SELECT count(*) FROM users), "
        "(SELECT count(*) FROM reviews WHERE status = 'approved'), (SELECT count(*) FROM reviews)"
    )


async def dataset_counts(url: str) -> dict[str, int]:
    connection = await connect(url)
    try:
        row = await connection.fetchrow(dataset_counts_sql())
    finally:
        await connection.close()
    keys = ("categories", "published_products", "products", "users", "approved_reviews", "reviews")
    return {key: int(value) for key, value in zip(keys, row, strict=True)}


@dataclass(frozen=True)
class Servers:
    admin_url: str  # a database on the server that is not the bench one (CREATE/DROP DATABASE)
    bench_url: str  # the bench database, asyncpg driver
    redis_url: str
    embedded: bool  # the embedded services (under data_dir) are in use


def resolve_servers(data_dir: Path, name: str = BENCH_DATABASE) -> Servers:
    """DATABASE_URL / REDIS_URL when set, else the embedded services under `data_dir`.

    Embedded servers this process starts are stopped when it exits (app.devservices owns that);
    ones already running (another bench run, say) are used and left running.
    """
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if database_url and redis_url:
        admin_url, embedded = async_url(database_url), False
    else:
        from app.devservices import start_dev_services

        services = start_dev_services(data_dir)
        admin_url = async_url(database_url) if database_url else services.database_url
        redis_url = redis_url or services.redis_url
        embedded = not database_url
    if database_name(admin_url) == name:
        admin_url = database_on(admin_url, "postgres")
    return Servers(
        admin_url=admin_url,
        bench_url=database_on(admin_url, name),
        redis_url=redis_url,
        embedded=embedded,
    )
