"""`make bench`, subscriptions: how long after a write commits its event reaches a subscriber.

    python -m bench.subscriptions [--idle 1000] [--events 300] [--record]

1. PostgreSQL and Redis as bench/run.py finds them (DATABASE_URL / REDIS_URL, else the
   embedded services under `.data/bench`); a database of its own, `catalog_bench_subs`,
   recreated and migrated, holding `idle + 1` published products.
2. `catalog serve --workers <nproc>` in production mode (as bench/run.py runs it).
3. `--idle` WebSocket connections (graphql-transport-ws), each subscribed with productUpdated
   to a product that never changes: they cost the server memory and fan-out work, and receive
   nothing. One more connection follows the measured product.
4. `--events` times: the stock of the measured product flips between 0 and 5 in a committed
   transaction, then the change is announced as every writer does
   (`workers.events.publish_products_changed`); the latency is from the commit's return to the
   event arriving at the client (same machine, one clock). The reference, measured in the same
   run on the same writes: a bare Redis pub/sub subscriber in this process, i.e. the floor any
   subscription server on this Redis pays.
5. p50/p99/max on stdout; with --record, a section appended to docs/benchmarks.md with the
   load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack, ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import ClientConnection, connect

from app.settings import PROJECT_ROOT
from bench import dataset, report
from bench.servers import Server, cpu_count, free_port
from db.global_ids import encode_global_id
from workers.events import PRODUCTS_CHANNEL, publish_products_changed

DATABASE = "catalog_bench_subs"
BENCHMARKS_MD = PROJECT_ROOT / "docs" / "benchmarks.md"
TARGET_P99_MS = 50.0
SUBSCRIBE = "subscription ($ids: [ID!]!) { productUpdated(ids: $ids) { id inStock } }"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=1000, help="idle subscribers connected")
    parser.add_argument("--events", type=int, default=300, help="writes measured")
    parser.add_argument("--workers", type=int, default=cpu_count(), help="uvicorn workers")
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench.subscriptions] {message}", file=sys.stderr, flush=True)


def prepare(servers: dataset.Servers, products: int) -> list[int]:
    asyncio.run(dataset.recreate_database(servers.admin_url, DATABASE))
    dataset.migrate(servers.bench_url)  # alembic runs an event loop of its own
    return asyncio.run(insert_products(servers, products))


async def insert_products(servers: dataset.Servers, products: int) -> list[int]:
    engine = create_async_engine(servers.bench_url)
    async with engine.begin() as connection:
        rows = await connection.execute(
            text(
                "INSERT INTO products (sku, name, slug, price, currency, stock, status) "
                "SELECT 'SUB-' || n, 'Product ' || n, 'product-' || n, 10, 'USD', 5, 'published' "
                "FROM generate_series(1, :n) AS n RETURNING id"
            ),
            {"n": products},
        )
        ids = sorted(row[0] for row in rows)
    await engine.dispose()
    return ids


def api_server(servers: dataset.Servers, workers: int, log_dir: Path) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MAIL_TRANSPORT": "outbox",
        "DATABASE_URL": servers.bench_url,
        "REDIS_URL": servers.redis_url,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT": "false",  # a thousand subscriptions from one address
    }
    script = Path(sys.executable).with_name("catalog")
    command = [str(script), "serve", "--workers", str(workers), "--port", str(port)]
    return Server("api-subs", command, port=port, env=env, log_dir=log_dir, cwd=PROJECT_ROOT)


async def subscribe(url: str, product_id: int) -> ClientConnection:
    socket = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60)  # type: ignore[list-item]
    await socket.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
    assert orjson.loads(await socket.recv())["type"] == "connection_ack"
    ids = [encode_global_id("Product", product_id)]
    message = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": SUBSCRIBE, "variables": {"ids": ids}},
    }
    await socket.send(orjson.dumps(message).decode())
    first = orjson.loads(await socket.recv())  # the current state comes first
    assert first["type"] == "next", first
    return socket


async def next_event(socket: ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = orjson.loads(await socket.recv())
        if message["type"] == "ping":
            await socket.send('{"type":"pong"}')
            continue
        return message


async def measure(
    options: argparse.Namespace, servers: dataset.Servers, api: Server, ids: list[int]
) -> dict[str, Any]:
    url = api.url.replace("http://", "ws://") + "/graphql"
    measured, idle_ids = ids[0], ids[1:]
    async with AsyncExitStack() as stack:
        started = time.monotonic()
        idle: list[ClientConnection] = []
        for batch in range(0, len(idle_ids), 50):
            chunk = idle_ids[batch : batch + 50]
            idle += await asyncio.gather(*(subscribe(url, key) for key in chunk))
        for socket in idle:
            stack.push_async_callback(socket.close)
        log(f"{len(idle)} idle subscribers connected in {time.monotonic() - started:.1f} s")
        client = await subscribe(url, measured)
        stack.push_async_callback(client.close)

        redis = Redis.from_url(servers.redis_url)
        stack.push_async_callback(redis.aclose)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(PRODUCTS_CHANNEL)
        stack.push_async_callback(pubsub.aclose)
        engine = create_async_engine(servers.bench_url)
        stack.push_async_callback(engine.dispose)

        ours: list[float] = []
        reference: list[float] = []
        for number in range(options.events):
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE products SET stock = :stock WHERE id = :id"),
                    {"stock": 0 if number % 2 == 0 else 5, "id": measured},
                )
            committed = time.perf_counter()
            await publish_products_changed(redis, [measured])
            heard = await pubsub.get_message(timeout=5)
            while heard is None or heard.get("type") != "message":
                heard = await pubsub.get_message(timeout=5)
            reference.append((time.perf_counter() - committed) * 1000)
            event = await asyncio.wait_for(next_event(client), 10)
            ours.append((time.perf_counter() - committed) * 1000)
            assert event["payload"]["data"]["productUpdated"]["inStock"] is (number % 2 == 1)
            await asyncio.sleep(0.02)
    return {"ours": ours, "reference": reference, "idle": len(idle)}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(values),
        "p99": percentile(values, 0.99),
        "max": max(values),
    }


def record(text_block: str) -> None:
    with open(BENCHMARKS_MD, "a") as file:
        file.write(text_block)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        servers = dataset.resolve_servers(PROJECT_ROOT / ".data" / "bench", DATABASE)
        ids = prepare(servers, options.idle + 1)
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-subs-")))
        api = api_server(servers, options.workers, log_dir)
        api.start()
        stack.callback(api.stop)
        result = asyncio.run(measure(options, servers, api, ids))
    load_after = os.getloadavg()[0]
    ours, reference = summary(result["ours"]), summary(result["reference"])
    verdict = "meets" if ours["p99"] <= TARGET_P99_MS else "MISSES"
    commit = report.git_revision(PROJECT_ROOT)
    block = (
        f"\n### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: subscription latency\n\n"
        f"- **Commit**: {commit}\n"
        f"- **Setup**: `catalog serve --workers {options.workers}` (production), "
        f"{result['idle']} idle graphql-transport-ws subscribers connected, one following the "
        f"product written; {len(result['ours'])} writes (a committed UPDATE, then "
        "`publish_products_changed`), 20 ms apart\n"
        f"- **Load average**: {load_before:.1f} before, {load_after:.1f} after "
        f"({cpu_count()} CPUs)\n\n"
        "| commit → event | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|\n"
        f"| productUpdated at a WebSocket client | {ours['p50']:.1f} | {ours['p99']:.1f} | "
        f"{ours['max']:.1f} |\n"
        f"| reference: bare Redis pub/sub subscriber | {reference['p50']:.1f} | "
        f"{reference['p99']:.1f} | {reference['max']:.1f} |\n\n"
        f"p99 {ours['p99']:.1f} ms {verdict} the target of {TARGET_P99_MS:.0f} ms "
        f"({ours['p99'] / max(reference['p99'], 0.001):.1f}x the reference's p99).\n"
    )
    print(block)
    if options.record:
        record(block)
    return 0 if ours["p99"] <= TARGET_P99_MS else 1


if __name__ == "__main__":
    sys.exit(main())
