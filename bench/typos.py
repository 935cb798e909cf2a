"""`make bench`, typo part: searches full text misses (the typo fallback) against ones it finds.

    python -m bench.typos [--products 100000] [--runs 15] [--record]

1. A database of its own, `catalog_bench_typos`, on the bench's servers (DATABASE_URL /
   REDIS_URL, else the embedded services under `.data/bench`), seeded by `catalog seed` with
   `--products` products (names such as "Insulated Merino Trekking Pole"). Reused while it
   holds that dataset.
2. The API in this process (ASGI, no sockets): the storefront's search page (`first: 20`,
   `totalCount`, names), once with compiled queries, once through the executor. Each search
   `--runs` times after two warm-ups; the median counts.
3. The reference, in the same run and process: the same searches spelt right, which full text
   answers. A typo's ratio to it says how much dearer a misspelt search is than a found one
   (before the fallback used the trigram index, at 70a53ad: 43-179 times, 500-710 ms at
   100,000 products, and 376-546 ms for a word like nothing in the catalog).

With --record a dated section goes under "Typo search" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import dataset
from bench.export import commit
from bench.run import BENCHMARKS_MD, DEFAULT_DATA_DIR, DOCS_HEADER, log
from bench.servers import cpu_count

TYPOS_DATABASE = "catalog_bench_typos"
SEARCH = """
query Search($search: String) {
  products(first: 20, filter: {search: $search}) { totalCount edges { node { name } } }
}
"""
# Each misspelt search beside the same words spelt right (names the seed generates).
SEARCHES = [
    ("wirless mose", "wireless mouse"),
    ("headphnes", "headphones"),
    ("leathr walet", "leather wallet"),
    ("trekkng pol", "trekking pole"),
]
NOTHING_LIKE = "qzxv"  # matches nothing, either way


async def measure(
    url: str, redis_url: str, *, compiled: bool, runs: int
) -> dict[str, tuple[int, float]]:
    """Each search's matches and median milliseconds, through the API in this process."""
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        database_url=url,
        redis_url=redis_url,
        environment="development",
        rate_limit=False,
        compiled_queries=compiled,
    )
    application = create_app(settings)
    results: dict[str, tuple[int, float]] = {}
    texts = [text for pair in SEARCHES for text in pair] + [NOTHING_LIKE]
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for text in texts:
                times: list[float] = []
                matches = 0
                for _ in range(runs + 2):
                    started = time.perf_counter()
                    response = await client.post(
                        "/graphql", json={"query": SEARCH, "variables": {"search": text}}
                    )
                    times.append((time.perf_counter() - started) * 1000)
                    body = response.json()
                    assert "errors" not in body, body
                    matches = body["data"]["products"]["totalCount"]
                results[text] = (matches, statistics.median(times[2:]))
    return results


def render(
    paths: dict[str, dict[str, tuple[int, float]]], products: int, runs: int, load: float
) -> str:
    lines = [
        f"### Typo search {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- **Commit**: {commit()}",
        f"- **Machine**: {cpu_count()} CPUs, load average {load:.1f} at the start",
        f"- **Dataset**: `catalog seed --products {products}`; each search {runs} times in "
        "process (ASGI), median after two warm-ups",
        "",
        "| path | misspelt | matches | ms | spelt right | matches | ms | ratio |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for path, results in paths.items():
        for typo, right in SEARCHES:
            (typo_n, typo_ms), (right_n, right_ms) = results[typo], results[right]
            lines.append(
                f"| {path} | {typo} | {typo_n} | {typo_ms:.1f} | {right} | {right_n} | "
                f"{right_ms:.1f} | {typo_ms / right_ms:.1f}x |"
            )
        n, ms = results[NOTHING_LIKE]
        lines.append(f"| {path} | {NOTHING_LIKE} (nothing like it) | {n} | {ms:.1f} | | | | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.typos", description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    load = os.getloadavg()[0]
    servers = dataset.resolve_servers(args.data_dir)
    url = dataset.database_on(servers.admin_url, TYPOS_DATABASE)
    wanted = dataset.DatasetArgs(products=args.products, users=10, reviews=0)
    log(dataset.prepare(servers.admin_url, url, wanted, skip_seed=False))
    paths = {
        name: asyncio.run(measure(url, servers.redis_url, compiled=compiled, runs=args.runs))
        for name, compiled in (("compiled", True), ("executor", False))
    }
    section = render(paths, args.products, args.runs, load)
    print("\n" + section, flush=True)
    if args.record:
        from bench.report import append_markdown

        append_markdown(BENCHMARKS_MD, section, DOCS_HEADER)
        log(f"recorded in {BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
