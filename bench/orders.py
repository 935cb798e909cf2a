"""placeOrder under load: the order rows of `make bench`.

Each of `clients` customers (accounts `bench-buyer-N@bench.example.com`, written to the bench
database once, signed in through the API) loops: `addToCart` one unit, then `placeOrder` with a
fresh idempotency key. Two workloads:

- distinct: each client buys its own product (stock that never runs out): orders/s is the
  throughput of independent checkouts;
- hot: every client buys the same product, which holds `HOT_STOCK` units, until it is sold out
  or the time is up: the worst case for the row lock, and the oversell check: the units sold
  in orders must equal the stock that left the shelf, and the stock must not go below zero.

Latencies are those of `placeOrder` alone (p50, p99, over every answer, refusals included).
The client runs on the same machine as the servers, so it takes some of their CPU: the
"client CPU" column is the CPU time this process (the load generator alone: the servers are
other processes) spent per second of the workload, in % of one core. To keep that share small,
each buyer sends placeOrder over its own keep-alive HTTP/1.1 connection with a minimal client
(`Connection`: the request bytes are formatted, the answer's status line, Content-Length and
JSON body are all it reads) rather than httpx, which cost about four times as much CPU per
request; signing in still goes through httpx.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import httpx
from argon2 import PasswordHasher

from bench import dataset
from bench.reference import asyncpg_dsn

PASSWORD = "bench buyer password 42"
HOT_STOCK = 400
HOT_SKU = "BENCH-ORDER-HOT"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
ADDRESS = {
    "name": "Bench",
    "line1": "1 Load St",
    "city": "Perf",
    "postalCode": "1",
    "country": "US",
}
LOGIN = """mutation($e: String!, $p: String!) {
  login(input: {email: $e, password: $p}) { accessToken errors { code } } }"""
FILL_CART = (
    "INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES ($1, $2, 1) "
    "ON CONFLICT (cart_id, product_id) DO NOTHING"
)
PLACE = """mutation($k: String!, $a: AddressInput!) {
  placeOrder(input: {idempotencyKey: $k, shippingAddress: $a}) {
    order { number } errors { code } } }"""


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs GraphQL requests to `/graphql` and reads
    answers with a Content-Length (as the API sends them)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer = reader, writer
        self.head = (
            f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Accept: */*\r\n"
        )

    @classmethod
    async def open(cls, api_url: str) -> Connection:
        url = httpx.URL(api_url)
        port = url.port or 80
        reader, writer = await asyncio.open_connection(url.host, port)
        return cls(reader, writer, f"{url.host}:{port}")

    async def post(
        self, query: str, variables: dict[str, Any], token: str | None
    ) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.writer.write(f"{self.head}{auth}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, _, headers = head.partition(b"\r\n")
        length = None
        for line in headers.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:  # the API always sends one; anything else ends this buyer
            raise RuntimeError(f"an answer without Content-Length: {head!r}")
        content = await self.reader.readexactly(length)
        if status_line.split(b" ", 2)[1] != b"200":
            return {"errors": [{"message": status_line.decode()}]}
        answer: dict[str, Any] = json.loads(content)
        return answer

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@dataclass
class OrderRun:
    name: str
    seconds: float = 0.0
    orders: int = 0
    refused: int = 0  # INSUFFICIENT_STOCK: expected once the hot product is sold out
    failures: int = 0  # anything else: errors, non-200 answers
    latencies_ms: list[float] = field(default_factory=list)
    oversell: str = "-"
    client_cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100)[int(fraction * 100) - 1]

    def row(self) -> str:
        return (
            f"| {self.name} | {self.per_second:.1f} | {self.percentile(0.5):.1f} | "
            f"{self.percentile(0.99):.1f} | {self.orders} | {self.refused} | {self.failures} | "
            f"{self.oversell} | {100 * self.client_cpu_seconds / self.seconds:.0f}% |"
        )


TABLE_HEADER = (
    "| placeOrder workload | orders/s | p50 ms | p99 ms | orders | sold out | failures | "
    "oversold | client CPU |\n|---|---:|---:|---:|---:|---:|---:|---|---:|"
)


def global_id(type_name: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


async def prepare(url: str, clients: int) -> tuple[list[tuple[int, str]], list[int], int]:
    """Bench buyers (ids, emails) with empty carts, one product per buyer, and the hot product
    (stock reset)."""
    connection = await dataset.connect(url)
    try:
        emails = [f"bench-buyer-{n}@bench.example.com" for n in range(clients)]
        existing = set(
            await connection.fetchval(
                "SELECT coalesce(array_agg(email), '{}') FROM users WHERE email = ANY($1)", emails
            )
        )
        missing = [email for email in emails if email not in existing]
        if missing:
            password_hash = PasswordHasher().hash(PASSWORD)
            await connection.executemany(
                "INSERT INTO users (email, name, password_hash, role) "
                "VALUES ($1, 'Bench', $2, 'customer')",
                [(email, password_hash) for email in missing],
            )
        buyers = [
            (int(row["id"]), str(row["email"]))
            for row in await connection.fetch(
                "SELECT id, email FROM users WHERE email = ANY($1) ORDER BY id", emails
            )
        ]
        ids = [buyer_id for buyer_id, _ in buyers]
        await connection.execute("DELETE FROM cart_lines WHERE cart_id = ANY($1)", ids)
        await connection.execute(
            "INSERT INTO carts (customer_id) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING",
            ids,
        )
        products = []
        for sku, stock in [
            *((f"BENCH-ORDER-{n}", 10_000_000) for n in range(clients)),
            (HOT_SKU, HOT_STOCK),
        ]:
            product_id = await connection.fetchval(
                # Created long ago: newest-first pages (the measured listing) never show them.
                "INSERT INTO products (sku, name, slug, price, stock, status, created_at) "
                "VALUES ($1::text, $1::text, lower($1::text), 9.99, $2, 'published', $3) "
                "ON CONFLICT (sku) DO UPDATE SET stock = excluded.stock, status = 'published', "
                "created_at = excluded.created_at RETURNING id",
                sku,
                stock,
                LONG_AGO,
            )
            products.append(int(product_id))
        return buyers, products[:-1], products[-1]
    finally:
        await connection.close()


async def _post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    if response.status_code != 200:
        return {"errors": [{"message": f"HTTP {response.status_code}"}]}
    body: dict[str, Any] = response.json()
    return body


async def _sign_in(client: httpx.AsyncClient, email: str) -> str:
    body = await _post(client, LOGIN, {"e": email, "p": PASSWORD}, None)
    token = (body.get("data") or {}).get("login", {}).get("accessToken")
    if not token:
        raise RuntimeError(f"bench buyer {email} could not sign in: {body}")
    return str(token)


async def _buyer(
    client: Connection,
    carts: Any,
    buyer: tuple[int, str],
    product_id: int,
    deadline: float,
    run: OrderRun,
) -> None:
    buyer_id, token = buyer
    while time.monotonic() < deadline:
        await carts.execute(FILL_CART, buyer_id, product_id)
        started = time.perf_counter()
        try:
            body = await client.post(PLACE, {"k": str(uuid.uuid4()), "a": ADDRESS}, token)
        except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
            run.failures += 1  # the connection broke or the answer was not HTTP as expected
            return
        run.latencies_ms.append((time.perf_counter() - started) * 1000)
        payload = (body.get("data") or {}).get("placeOrder")
        if payload and payload["order"]:
            run.orders += 1
        elif payload and [e["code"] for e in payload["errors"]] == ["INSUFFICIENT_STOCK"]:
            run.refused += 1
            return  # sold out
        else:
            run.failures += 1
            return


async def run_orders(
    api_url: str, bench_url: str, *, clients: int, seconds: float
) -> list[OrderRun]:
    buyers, own_products, hot = await prepare(bench_url, clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    carts = await asyncpg.create_pool(asyncpg_dsn(bench_url), min_size=4, max_size=4)
    try:
        async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=limits) as client:
            signed_in = [(buyer_id, await _sign_in(client, email)) for buyer_id, email in buyers]
        runs = []
        for name, targets in (
            ("distinct products", own_products),
            ("one hot product", [hot] * clients),
        ):
            run = OrderRun(f"{name}, {clients} clients")
            connections = [await Connection.open(api_url) for _ in signed_in]
            try:
                started, cpu_started = time.monotonic(), time.process_time()
                deadline = started + seconds
                await asyncio.gather(
                    *(
                        _buyer(connection, carts, buyer, target, deadline, run)
                        for connection, buyer, target in zip(
                            connections, signed_in, targets, strict=True
                        )
                    )
                )
                run.seconds = time.monotonic() - started
                run.client_cpu_seconds = time.process_time() - cpu_started
            finally:
                for connection in connections:
                    await connection.close()
            runs.append(run)
    finally:
        await carts.close()
    runs[1].oversell = await _oversell_check(bench_url, hot, runs[1].orders)
    return runs


async def _oversell_check(url: str, product_id: int, orders: int) -> str:
    connection = await dataset.connect(url)
    try:
        stock = await connection.fetchval("SELECT stock FROM products WHERE id = $1", product_id)
    finally:
        await connection.close()
    sold = HOT_STOCK - int(stock)
    ok = stock >= 0 and sold == orders
    return f"{'no' if ok else 'YES'} ({orders} orders, {sold} of {HOT_STOCK} units left the shelf)"


def render(runs: list[OrderRun]) -> str:
    return "\n".join([TABLE_HEADER, *(run.row() for run in runs)])
