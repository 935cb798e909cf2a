"""The reference endpoint: the listing query's answer built entirely in PostgreSQL.

A bare ASGI callable (no framework) with an asyncpg pool. `POST /graphql` answers the
benchmark's listing document (`bench/queries.py`, `LISTING`) whatever document it is sent, with
ONE hand-written SQL statement that builds the whole response JSON (`json_build_object` /
`json_agg`, a LATERAL subquery for the newest three approved reviews of each product with their
authors' names, the category and its parent, `count(*)` for totalCount, keyset on
`(created_at DESC, id DESC)`) and sends its text as-is. No GraphQL, no ORM, no Python-side
serialisation: the practical upper bound for a Python server on the same PostgreSQL.

Same rules as the API: only published products and approved reviews. Global ids mirror the
API's (`urlsafe_b64encode("Product:<id>")`, padded), as do cursors (unpadded urlsafe base64 of
the JSON `[created_at, id]`), so the bytes on the wire are comparable. `variables.after` pages.

Served with `uvicorn bench.reference:app --workers N`; reads DATABASE_URL from the environment
(SQLAlchemy-style `postgresql+asyncpg://` URLs are accepted). `GET /readyz` checks PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from db.session import libpq_url

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PAGE_SIZE = 50
REVIEWS_PER_PRODUCT = 3
POOL_SIZE = 20  # the API's engine: pool_size 10 + max_overflow 10 per worker
MAX_BODY = 1024 * 1024
GRAPHQL_RESPONSE = b"application/graphql-response+json"

# $1: cursor created_at (NULL for the first page), $2: cursor id, $3: page size.
LISTING_SQL = r"""
WITH page AS (
  SELECT p.id, p.name, p.price, p.currency, p.stock, p.category_id,
         p.rating_average, p.rating_count, p.created_at
  FROM products AS p
  WHERE p.status = 'published'
    AND ($1::timestamptz IS NULL OR (p.created_at, p.id) < ($1::timestamptz, $2::bigint))
  ORDER BY p.created_at DESC, p.id DESC
  LIMIT $3::int + 1
),
shown AS (
  SELECT * FROM page ORDER BY created_at DESC, id DESC LIMIT $3::int
)
SELECT json_build_object('data', json_build_object('products', json_build_object(
  'totalCount', (SELECT count(*) FROM products WHERE status = 'published'),
  'pageInfo', json_build_object(
    'hasNextPage', (SELECT count(*) FROM page) > $3::int,
    'endCursor', (
      SELECT translate(rtrim(encode(convert_to(json_build_array(s.created_at, s.id)::text,
                                                 'UTF8'), 'base64'), '='), E'+/\n', '-_')
      FROM shown AS s ORDER BY s.created_at, s.id LIMIT 1)
  ),
  'edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
      'id', translate(encode(convert_to('Product:' || s.id, 'UTF8'), 'base64'), E'+/\n', '-_'),
      'name', s.name,
      'price', json_build_object('amount', s.price::text, 'currency', s.currency),
      'inStock', s.stock > 0,
      'category', CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object(
        'id', translate(encode(convert_to('Category:' || c.id, 'UTF8'), 'base64'),
                        E'+/\n', '-_'),
        'name', c.name,
        'parent', CASE WHEN parent.id IS NULL THEN NULL
                       ELSE json_build_object('name', parent.name) END
      ) END,
      'rating', json_build_object('average', s.rating_average::float8, 'count', s.rating_count),
      'reviews', json_build_object('edges', coalesce(newest.edges, '[]'::json))
    )) ORDER BY s.created_at DESC, s.id DESC)
    FROM shown AS s
    LEFT JOIN categories AS c ON c.id = s.category_id
    LEFT JOIN categories AS parent ON parent.id = c.parent_id
    LEFT JOIN LATERAL (
      SELECT json_agg(json_build_object('node', json_build_object(
               'rating', r.rating, 'title', r.title, 'author', json_build_object('name', u.name)
             )) ORDER BY r.created_at DESC, r.id DESC) AS edges
      FROM (
        SELECT rv.rating, rv.title, rv.user_id, rv.created_at, rv.id
        FROM reviews AS rv
        WHERE rv.product_id = s.id AND rv.status = 'approved'
        ORDER BY rv.created_at DESC, rv.id DESC
        LIMIT 3  -- REVIEWS_PER_PRODUCT
      ) AS r
      JOIN users AS u ON u.id = r.user_id
    ) AS newest ON true
  ), '[]'::json)
)))::text
"""


asyncpg_dsn = libpq_url


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """An API-style cursor: unpadded urlsafe base64 of the JSON `[created_at, id]`."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created, key = raw
        return datetime.fromisoformat(created), int(key)
    except (ValueError, TypeError, binascii.Error) as error:
        raise ValueError(f"{cursor!r} is not a valid cursor") from error


def error_body(message: str) -> bytes:
    return json.dumps({"errors": [{"message": message}]}).encode()


class ReferenceApp:
    """ASGI application; one asyncpg pool per process, opened by the lifespan."""

    def __init__(self, database_url: str | None = None) -> None:
        self.database_url = database_url
        self.pool: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.open()
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": repr(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def open(self) -> None:
        url = self.database_url or os.environ.get("DATABASE_URL")
        if not url:
            raise RuntimeError("DATABASE_URL is not set")
        self.pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=1, max_size=POOL_SIZE)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/graphql" and method == "POST":
            body = await read_body(receive)
            if body is None:
                await respond(send, 413, error_body("body too large"))
                return
            try:
                after = parse_after(body)
            except ValueError as error:
                await respond(send, 400, error_body(str(error)))
                return
            created, key = after if after is not None else (None, None)
            async with self.pool.acquire() as connection:
                payload: str = await connection.fetchval(LISTING_SQL, created, key, PAGE_SIZE)
            await respond(send, 200, payload.encode(), GRAPHQL_RESPONSE)
        elif path in ("/readyz", "/healthz") and method == "GET":
            async with self.pool.acquire() as connection:
                await connection.fetchval("SELECT 1")
            await respond(send, 200, b'{"status":"ready"}')
        else:
            await respond(send, 404, error_body("not found"))


def parse_after(body: bytes) -> tuple[datetime, int] | None:
    try:
        request = json.loads(body)
    except ValueError as error:
        raise ValueError("body is not JSON") from error
    variables = request.get("variables") if isinstance(request, dict) else None
    after = variables.get("after") if isinstance(variables, dict) else None
    if after is None:
        return None
    if not isinstance(after, str):
        raise ValueError("`after` must be a string")
    return decode_cursor(after)


async def read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(
    send: Send, status: int, body: bytes, content_type: bytes = b"application/json"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


app = ReferenceApp()
