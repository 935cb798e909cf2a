"""`make bench`, export part: product export rows/s against COPY, on 100,000 generated products.

    python -m bench.export [--products 100000] [--runs 3] [--record]

1. A database of its own, `catalog_bench_export`, on the bench's servers (DATABASE_URL /
   REDIS_URL, else the embedded services under `.data/bench`), migrated and filled by one SQL
   statement with `--products` products (200 categories in three levels, attributes, two
   images each). Reused while it holds that many.
2. The export job (`workers.exports.products`, the very code the worker runs) is run in this
   process through `run_job`, for CSV then XLSX, `--runs` times each; the best run counts.
3. The reference: PostgreSQL's `COPY (SELECT the same columns, the category path joined in)
   TO STDOUT (FORMAT csv)` into memory through asyncpg, the same number of runs: the practical
   upper bound for producing the same rows on this machine. The ratio ours/reference is
   reported with the load average.
4. Peak RSS of this process after each format, so a streamed export is seen to stay flat.

With --record a dated section goes under "Export" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import dataset
from bench.run import BENCHMARKS_MD, DEFAULT_DATA_DIR, DOCS_HEADER, log
from bench.servers import cpu_count

EXPORT_DATABASE = "catalog_bench_export"
TARGET_ROWS_PER_SECOND = 50_000

FILL = """
INSERT INTO categories (name, slug, path, parent_id)
SELECT 'Department ' || g, 'department-' || g, '{}', NULL FROM generate_series(1, 10) g;
INSERT INTO categories (name, slug, path, parent_id)
SELECT 'Aisle ' || g, 'aisle-' || g, ARRAY[1 + g % 10], 1 + g % 10 FROM generate_series(1, 40) g;
INSERT INTO categories (name, slug, path, parent_id)
SELECT 'Shelf ' || g, 'shelf-' || g, ARRAY[1 + (10 + 1 + g % 40) % 10, 10 + 1 + g % 40],
       10 + 1 + g % 40
FROM generate_series(1, 150) g;
INSERT INTO products (sku, name, slug, description, price, currency, stock, status, category_id,
                      attributes, images)
SELECT 'BX-' || lpad(g::text, 7, '0'),
       CASE WHEN g % 97 = 0 THEN '=cmd|' || g ELSE 'Product number ' || g END,
       'product-' || g,
       'A description of product ' || g || E' with a second line\\nand more words.',
       (g % 50000) / 100.0 + 1, 'USD', g % 40,
       (ARRAY['draft', 'published', 'published', 'archived'])[1 + g % 4]::product_status,
       51 + g % 150,
       jsonb_build_object('color', 'black', 'size', g % 12, 'tags', jsonb_build_array('a', 'b')),
       jsonb_build_array(
           jsonb_build_object('url', 'https://img.example.com/' || g || '/1.jpg', 'alt', 'front'),
           jsonb_build_object('url', 'https://img.example.com/' || g || '/2.jpg', 'alt', ''))
FROM generate_series(1, $PRODUCTS) g;
"""

# The same rows as the export, produced by PostgreSQL alone (sent as COPY (…) TO STDOUT).
REFERENCE_QUERY = """
  WITH RECURSIVE tree AS (
    SELECT id, name::text AS path FROM categories WHERE parent_id IS NULL
    UNION ALL
    SELECT c.id, t.path || ' > ' || c.name FROM categories c JOIN tree t ON c.parent_id = t.id
  )
  SELECT p.sku, p.name, p.description, p.price, p.currency, coalesce(t.path, ''), p.stock,
         upper(p.status::text), p.attributes::text,
         (SELECT string_agg(i->>'url' || '|' || (i->>'alt'), E'\\n')
          FROM jsonb_array_elements(p.images) i)
  FROM products p LEFT JOIN tree t ON t.id = p.category_id
  ORDER BY p.id
"""


@dataclass
class Timing:
    rows: int
    seconds: float
    peak_rss_mib: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def prepare(servers: dataset.Servers, products: int) -> str:
    url = dataset.database_on(servers.admin_url, EXPORT_DATABASE)
    await dataset.ensure_database(servers.admin_url, EXPORT_DATABASE)
    await asyncio.to_thread(dataset.migrate, url)
    connection = await dataset.connect(url)
    try:
        count = await connection.fetchval("SELECT count(*) FROM products")
        if count != products:
            log(f"filling {EXPORT_DATABASE} with {products} products")
            await connection.execute(
                "TRUNCATE products, categories, jobs, stored_files RESTART IDENTITY CASCADE"
            )
            await connection.execute(FILL.replace("$PRODUCTS", str(products)))
            await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    return url


async def export_once(url: str, redis_url: str, file_format: str) -> Timing:
    from arq.connections import ArqRedis

    from db.jobs import Job, JobKind, JobStatus
    from db.product_filters import ProductConditions
    from db.session import create_engine, create_session_factory
    from resolvers.jobs.create import create_job
    from workers.exports.products import export_params
    from workers.files import PostgresFileStore
    from workers.jobs.runner import run_job

    engine = create_engine(url, pool_size=3)
    sessions = create_session_factory(engine)
    redis = ArqRedis.from_url(redis_url)
    try:
        async with sessions() as session:
            job = await create_job(
                session,
                JobKind.EXPORT_PRODUCTS,
                export_params(file_format, ProductConditions(), None),
                None,
                None,
            )
            job.enqueue_pending = False
            await session.commit()
        ctx = {"sessions": sessions, "redis": redis, "files": PostgresFileStore(sessions)}
        started = time.perf_counter()
        await run_job(ctx, job.id)
        seconds = time.perf_counter() - started
        async with sessions() as session:
            ended = await session.get(Job, job.id)
        assert ended is not None
        assert ended.status is JobStatus.SUCCEEDED, ended.failure_reason
        return Timing(ended.progress_done, seconds, peak_rss_mib())
    finally:
        await redis.aclose()
        await engine.dispose()


async def reference_once(url: str) -> Timing:
    connection = await dataset.connect(url)
    sink = io.BytesIO()
    try:
        started = time.perf_counter()
        await connection.copy_from_query(REFERENCE_QUERY, output=sink, format="csv", header=True)
        seconds = time.perf_counter() - started
        products = int(await connection.fetchval("SELECT count(*) FROM products"))
    finally:
        await connection.close()
    return Timing(products, seconds, peak_rss_mib())


def best(timings: list[Timing]) -> Timing:
    return min(timings, key=lambda t: t.seconds)


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(results: dict[str, Timing], reference: Timing, products: int, load: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### Export {now}",
        "",
        f"- **Commit**: {commit()}",
        f"- **Machine**: {cpu_count()} CPUs, load average {load:.1f} at the start",
        f"- **Dataset**: {products} generated products (`bench/export.py`), best of the runs",
        "",
        "| export | rows | seconds | rows/s | ratio to COPY | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, timing in [*results.items(), ("reference: COPY … TO STDOUT (csv)", reference)]:
        ratio = timing.rows_per_second / reference.rows_per_second
        lines.append(
            f"| {name} | {timing.rows} | {timing.seconds:.2f} | {timing.rows_per_second:,.0f} "
            f"| {ratio:.2f}x | {timing.peak_rss_mib:.0f} |"
        )
    csv_rate = results["CSV"].rows_per_second
    verdict = "meets" if csv_rate >= TARGET_ROWS_PER_SECOND else "misses"
    lines += [
        "",
        f"CSV export {verdict} the target of {TARGET_ROWS_PER_SECOND:,} rows/s "
        f"({csv_rate:,.0f} rows/s).",
        "",
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    load = os.getloadavg()[0]
    servers = dataset.resolve_servers(args.data_dir)
    url = await prepare(servers, args.products)
    results: dict[str, Timing] = {}
    for file_format in ("csv", "xlsx"):
        runs = [await export_once(url, servers.redis_url, file_format) for _ in range(args.runs)]
        results[file_format.upper()] = best(runs)
        log(f"{file_format}: {results[file_format.upper()].rows_per_second:,.0f} rows/s")
    reference = best([await reference_once(url) for _ in range(args.runs)])
    section = render(results, reference, args.products, load)
    print("\n" + section, flush=True)
    if args.record:
        from bench.report import append_markdown

        append_markdown(BENCHMARKS_MD, section, DOCS_HEADER)
        log(f"recorded in {BENCHMARKS_MD}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
