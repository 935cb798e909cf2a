"""`make bench`, import part: product import rows/s and the worker's peak RSS, against COPY.

    python -m bench.imports [--rows 100000] [--record]

1. A database of its own, `catalog_bench_import`, on the bench's servers (DATABASE_URL /
   REDIS_URL, else the embedded services under `.data/bench`), migrated, with 200 categories
   in three levels (the export bench's tree).
2. A generated CSV of `--rows` products in the import template (every column filled: a
   category path, attributes, two images; 1 row in 500 with a bad price, so errors are
   recorded too), written to a temporary file.
3. The import job (`workers.imports.job` through `run_job`, exactly as the worker runs it,
   onError SKIP_ROWS) runs in a child process on an empty catalog, then once more on the
   catalog it filled (every row unchanged: validate and compare, nothing written). Reported:
   rows/s through validate and apply, and the child's peak RSS (the worker's memory).
4. The reference: PostgreSQL loading the same file itself, `COPY … FROM STDIN (FORMAT csv)`
   into a plain table through asyncpg: the practical upper bound for getting these rows in.

With --record a dated section goes under "Import" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import dataset
from bench.export import Timing, commit
from bench.run import BENCHMARKS_MD, DEFAULT_DATA_DIR, DOCS_HEADER, log
from bench.servers import cpu_count

IMPORT_DATABASE = "catalog_bench_import"
TARGET_ROWS_PER_SECOND = 20_000
TARGET_RSS_MIB = 300

CATEGORIES = """
INSERT INTO categories (name, slug, path, parent_id)
SELECT 'Department ' || g, 'department-' || g, '{}', NULL FROM generate_series(1, 10) g;
INSERT INTO categories (name, slug, path, parent_id)
SELECT 'Aisle ' || g, 'aisle-' || g, ARRAY[1 + g % 10], 1 + g % 10 FROM generate_series(1, 40) g;
INSERT INTO categories (name, slug, path, parent_id)
SELECT 'Shelf ' || g, 'shelf-' || g, ARRAY[1 + (10 + 1 + g % 40) % 10, 10 + 1 + g % 40],
       10 + 1 + g % 40
FROM generate_series(1, 150) g;
"""
REFERENCE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_import_reference (
    sku text, name text, description text, price numeric(12, 2), currency text,
    category text, stock int, status text, attributes jsonb, images text
)
"""


def write_file(path: Path, rows: int) -> None:
    """The import template filled with `rows` generated products."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(
            ["sku", "name", "description", "price", "currency", "category", "stock", "status",
             "attributes", "images"]
        )  # fmt: skip
        for g in range(1, rows + 1):
            shelf = 1 + g % 150
            aisle = 1 + shelf % 40  # the tree of CATEGORIES: shelf s under aisle 1 + s % 40,
            department = 1 + aisle % 10  # aisle a under department 1 + a % 10
            writer.writerow(
                [
                    f"IM-{g:07d}",
                    f"Imported product {g}",
                    f"A description of product {g}\nwith a second line.",
                    "-1" if g % 500 == 0 else f"{(g % 50000) / 100 + 1:.2f}",
                    "USD",
                    f"Department {department} > Aisle {aisle} > Shelf {shelf}",
                    g % 40,
                    ("DRAFT", "PUBLISHED", "PUBLISHED", "ARCHIVED")[g % 4],
                    f'{{"color": "black", "size": {g % 12}}}',
                    f"https://img.example.com/{g}/1.jpg|front\nhttps://img.example.com/{g}/2.jpg",
                ]
            )


async def prepare(servers: dataset.Servers) -> str:
    url = dataset.database_on(servers.admin_url, IMPORT_DATABASE)
    await dataset.ensure_database(servers.admin_url, IMPORT_DATABASE)
    await asyncio.to_thread(dataset.migrate, url)
    connection = await dataset.connect(url)
    try:
        await connection.execute(
            "TRUNCATE products, categories, jobs, stored_files, import_rows "
            "RESTART IDENTITY CASCADE"
        )
        await connection.execute(CATEGORIES)
        await connection.execute(REFERENCE_TABLE)
    finally:
        await connection.close()
    return url


async def child(url: str, redis_url: str, path: Path) -> dict[str, float]:
    """In the child process: store the file, run the import job, report rows/s and RSS."""
    from arq.connections import ArqRedis

    from db.jobs import Job, JobKind, JobStatus
    from db.session import create_engine, create_session_factory
    from resolvers.jobs.create import create_job
    from workers.files import PostgresFileStore
    from workers.imports.job import import_params
    from workers.jobs.runner import run_job

    engine = create_engine(url, pool_size=3)
    sessions = create_session_factory(engine)
    redis = ArqRedis.from_url(redis_url)
    files = PostgresFileStore(sessions)

    async def chunks() -> object:
        with path.open("rb") as file:
            while chunk := file.read(1024 * 1024):
                yield chunk

    try:
        async with sessions() as session:
            file_id = await files.save(
                chunks(),  # type: ignore[arg-type]
                name=path.name,
                content_type="text/csv",
                purpose="upload",
                session=session,
            )
            params = import_params(dry_run=False, skip_rows=True, max_rows=2_000_000)
            job = await create_job(session, JobKind.IMPORT_PRODUCTS, params, file_id, None)
            job.enqueue_pending = False
            await session.commit()
        ctx = {"sessions": sessions, "redis": redis, "files": files}
        started = time.perf_counter()
        await run_job(ctx, job.id)
        seconds = time.perf_counter() - started
        async with sessions() as session:
            ended = await session.get(Job, job.id)
        assert ended is not None
        assert ended.status is JobStatus.SUCCEEDED, ended.failure_reason
        return {
            "rows": ended.progress_total or 0,
            "seconds": seconds,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "created": ended.created_count,
            "unchanged": ended.unchanged_count,
            "failed": ended.failed_count,
        }
    finally:
        await redis.aclose()
        await engine.dispose()


def import_once(url: str, redis_url: str, path: Path) -> tuple[Timing, dict[str, float]]:
    done = subprocess.run(  # noqa: S603  (this interpreter, this module)
        [sys.executable, "-m", "bench.imports", "--child", url, redis_url, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Timing(int(result["rows"]), result["seconds"], result["peak_rss_mib"]), result


async def reference_once(url: str, path: Path) -> Timing:
    connection = await dataset.connect(url)
    try:
        await connection.execute("TRUNCATE bench_import_reference")
        started = time.perf_counter()
        with path.open("rb") as file:
            await connection.copy_to_table(
                "bench_import_reference", source=file, format="csv", header=True
            )
        seconds = time.perf_counter() - started
        rows = int(await connection.fetchval("SELECT count(*) FROM bench_import_reference"))
        await connection.execute("TRUNCATE bench_import_reference")
    finally:
        await connection.close()
    return Timing(rows, seconds, 0.0)


def render(results: dict[str, Timing], reference: Timing, rows: int, load: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### Import {now}",
        "",
        f"- **Commit**: {commit()}",
        f"- **Machine**: {cpu_count()} CPUs, load average {load:.1f} at the start",
        f"- **File**: {rows} generated rows in the template (`bench/imports.py`), 1 in 500 bad",
        "",
        "| import | rows | seconds | rows/s | ratio to COPY | worker peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, timing in [*results.items(), ("reference: COPY … FROM STDIN (csv)", reference)]:
        ratio = timing.rows_per_second / reference.rows_per_second
        rss = f"{timing.peak_rss_mib:.0f}" if timing.peak_rss_mib else "-"
        lines.append(
            f"| {name} | {timing.rows} | {timing.seconds:.2f} | {timing.rows_per_second:,.0f} "
            f"| {ratio:.2f}x | {rss} |"
        )
    fresh = results["new catalog (all created)"]
    verdict = "meets" if fresh.rows_per_second >= TARGET_ROWS_PER_SECOND else "misses"
    memory = "under" if fresh.peak_rss_mib < TARGET_RSS_MIB else "over"
    lines += [
        "",
        f"The import {verdict} the target of {TARGET_ROWS_PER_SECOND:,} rows/s "
        f"({fresh.rows_per_second:,.0f} rows/s); the worker's peak RSS is {memory} "
        f"{TARGET_RSS_MIB} MiB ({fresh.peak_rss_mib:.0f} MiB).",
        "",
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    load = os.getloadavg()[0]
    servers = dataset.resolve_servers(args.data_dir)
    url = await prepare(servers)
    with tempfile.TemporaryDirectory(prefix="catalog-bench-import-") as directory:
        path = Path(directory) / "products.csv"
        log(f"writing {args.rows} rows to {path}")
        await asyncio.to_thread(write_file, path, args.rows)
        results: dict[str, Timing] = {}
        passes = ["new catalog (all created)", "same file again (all unchanged)"]
        for name in passes[: 1 if args.created_only else 2]:
            timing, detail = await asyncio.to_thread(import_once, url, servers.redis_url, path)
            results[name] = timing
            log(f"{name}: {timing.rows_per_second:,.0f} rows/s, {detail}")
        reference = await reference_once(url, path)
    section = render(results, reference, args.rows, load)
    print("\n" + section, flush=True)
    if args.record:
        from bench.report import append_markdown

        append_markdown(BENCHMARKS_MD, section, DOCS_HEADER)
        log(f"recorded in {BENCHMARKS_MD}")
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--child"]:
        url, redis_url, path = argv[1:4]
        print(json.dumps(asyncio.run(child(url, redis_url, Path(path)))), flush=True)
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument(
        "--created-only", action="store_true", help="skip the second (unchanged) pass"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
