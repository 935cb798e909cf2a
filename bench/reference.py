"""The reference endpoint: the workload's answers built entirely in PostgreSQL.

A bare ASGI callable (no framework) with an asyncpg pool. `POST /graphql` answers the
benchmark's detail and flat documents (`bench/queries.py`, `DETAIL`, `FLAT`) when sent their
exact text, and the listing document (`LISTING`) for any other, each with ONE hand-written SQL
statement building the same JSON as our API, sent as-is. No GraphQL, no ORM, no Python-side
serialisation: the practical upper bound for a Python server on the same PostgreSQL.

- listing: `json_build_object` / `json_agg`, a LATERAL subquery for the newest three approved
  reviews of each product with their authors' names, the category and its parent, `count(*)`
  for totalCount, keyset on `(created_at DESC, id DESC)`; `variables.after` pages.
- detail: the product by `variables.slug` with its ancestors (in path order), rating
  histogram, images, and its 20 newest approved reviews with totalCount and `createdAt`
  formatted as Python's `isoformat()`.
- flat: the first 100 published products in the default order (newest first).
- filtered and search: see FILTERED_SQL and SEARCH_SQL.

Same rules as the API: only published products and approved reviews. Global ids mirror the
API's (`urlsafe_b64encode("Product:<id>")`, padded), as do cursors (unpadded urlsafe base64 of
the JSON `[created_at, id]`), so the bytes on the wire are comparable. `variables.after` pages.

Served by bench/run.py behind app/balancer.py, as `catalog serve` serves the API; reads
DATABASE_URL from the environment (SQLAlchemy-style `postgresql+asyncpg://` URLs are accepted).
`GET /readyz` checks PostgreSQL.
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

from bench.queries import DETAIL, FILTERED, FLAT, SEARCH
from db.product_filters import search_terms
from db.session import libpq_url

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PAGE_SIZE = 50
REVIEWS_PER_PRODUCT = 3
POOL_SIZE = 20  # the API's engine: DB_POOL_SIZE 20 per worker
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


DETAIL_REVIEWS = 20

# $1: the product's slug.
DETAIL_SQL = r"""
SELECT json_build_object('data', json_build_object('product', (
  SELECT json_build_object(
    'id', translate(encode(convert_to('Product:' || p.id, 'UTF8'), 'base64'), E'+/\n', '-_'),
    'name', p.name,
    'description', p.description,
    'price', json_build_object('amount', p.price::text, 'currency', p.currency),
    'inStock', p.stock > 0,
    'attributes', p.attributes,
    'images', coalesce((
      SELECT json_agg(json_build_object('url', i.value ->> 'url',
                                        'alt', coalesce(i.value ->> 'alt', ''))
                      ORDER BY i.ordinality)
      FROM jsonb_array_elements(p.images) WITH ORDINALITY AS i), '[]'::json),
    'category', (
      SELECT json_build_object('name', c.name, 'ancestors', coalesce((
        SELECT json_agg(json_build_object('name', a.name) ORDER BY k.ordinality)
        FROM unnest(c.path) WITH ORDINALITY AS k(id, ordinality)
        JOIN categories AS a ON a.id = k.id), '[]'::json))
      FROM categories AS c WHERE c.id = p.category_id),
    'rating', json_build_object(
      'average', p.rating_average::float8,
      'count', p.rating_count,
      'histogram', (
        SELECT json_agg(json_build_object('stars', h.stars, 'count', h.count)
                        ORDER BY h.stars)
        FROM unnest(p.rating_histogram) WITH ORDINALITY AS h(count, stars))),
    'reviews', json_build_object(
      'totalCount', (SELECT count(*) FROM reviews
                     WHERE product_id = p.id AND status = 'approved'),
      'edges', coalesce((
        SELECT json_agg(json_build_object('node', json_build_object(
                 'rating', r.rating, 'title', r.title, 'body', r.body,
                 -- isoformat() of a UTC datetime, as the API writes DateTime values
                 'createdAt', (to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                   || CASE WHEN date_part('microseconds', r.created_at)::bigint % 1000000 = 0
                           THEN '' ELSE to_char(r.created_at AT TIME ZONE 'UTC', '.US') END
                   || '+00:00'),
                 'author', (SELECT json_build_object('name', u.name)
                            FROM users AS u WHERE u.id = r.user_id)
               )) ORDER BY r.created_at DESC, r.id DESC)
        FROM (SELECT * FROM reviews AS rv
              WHERE rv.product_id = p.id AND rv.status = 'approved'
              ORDER BY rv.created_at DESC, rv.id DESC
              LIMIT 20) AS r), '[]'::json)))  -- DETAIL_REVIEWS
  FROM products AS p
  WHERE p.slug = $1::text AND p.status = 'published'
)))::text
"""

FLAT_PAGE = 100

FLAT_SQL = r"""
SELECT json_build_object('data', json_build_object('products', json_build_object(
  'edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
      'id', translate(encode(convert_to('Product:' || s.id, 'UTF8'), 'base64'), E'+/\n', '-_'),
      'sku', s.sku,
      'name', s.name,
      'price', json_build_object('amount', s.price::text, 'currency', s.currency),
      'inStock', s.stock > 0
    )) ORDER BY s.created_at DESC, s.id DESC)
    FROM (SELECT id, sku, name, price, currency, stock, created_at
          FROM products WHERE status = 'published'
          ORDER BY created_at DESC, id DESC
          LIMIT 100) AS s  -- FLAT_PAGE
  ), '[]'::json)
)))::text
"""

# `filtered`: the API's filter (price within bounds, in stock, rated at least 4) and its sort
# (rating_average DESC, then id DESC) on the (status, rating_average, id) index; the average is
# written as Python writes the float of a numeric(3,2) (4.5, 4.0).
FILTERED_PAGE = 20

FILTERED_SQL = r"""
SELECT json_build_object('data', json_build_object('products', json_build_object(
  'edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
      'id', translate(encode(convert_to('Product:' || s.id, 'UTF8'), 'base64'), E'+/\n', '-_'),
      'name', s.name,
      'rating', json_build_object(
        'average',
          (CASE WHEN s.avg_text LIKE '%.%' THEN s.avg_text ELSE s.avg_text || '.0' END)::json,
        'count', s.rating_count)
    )) ORDER BY s.rating_average DESC, s.id DESC)
    FROM (SELECT id, name, rating_average, rating_count,
                 rtrim(rtrim(rating_average::text, '0'), '.') AS avg_text
          FROM products
          WHERE status = 'published' AND price >= 10 AND price <= 500 AND stock > 0
            AND rating_count > 0 AND rating_average >= 4
          ORDER BY rating_average DESC, id DESC
          LIMIT 20) AS s  -- FILTERED_PAGE
  ), '[]'::json)
)))::text
"""

# `search`: the API's full-text search (every word as a prefix, or for several words also them
# squashed together, as `db.product_filters.prefix_query`), ranked by `ts_rank_cd` then id, and
# when nothing matches its typo fallback (trigram word similarity of the text and of every
# word above TRIGRAM_THRESHOLD, ranked by the text's). The matches are read once: the count,
# the page and the fallback's test all come from them.
SEARCH_PAGE = 20
TRIGRAM_THRESHOLD = 0.3  # db.product_filters.TRIGRAM_THRESHOLD

# $1: the tsquery text, $2: the words joined by spaces, $3: the words.
SEARCH_SQL = r"""
WITH matched AS MATERIALIZED (
  SELECT p.id, p.name, ts_rank_cd(p.search_vector, q.q) AS rank
  FROM products AS p, to_tsquery('english'::regconfig, $1::text) AS q(q)
  WHERE p.status = 'published' AND p.search_vector @@ q.q
),
fuzzy AS MATERIALIZED (
  SELECT p.id, p.name, word_similarity($2::text, p.name) AS rank
  FROM products AS p
  WHERE NOT EXISTS (SELECT FROM matched)
    AND p.status = 'published' AND word_similarity($2::text, p.name) > 0.3::float8
    AND (SELECT bool_and(word_similarity(w, p.name) > 0.3::float8)
         FROM unnest($3::text[]) AS w)  -- TRIGRAM_THRESHOLD
),
found AS (SELECT * FROM matched UNION ALL SELECT * FROM fuzzy)
SELECT json_build_object('data', json_build_object('products', json_build_object(
  'totalCount', (SELECT count(*) FROM found),
  'edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
      'id', translate(encode(convert_to('Product:' || s.id, 'UTF8'), 'base64'), E'+/\n', '-_'),
      'name', s.name
    )) ORDER BY s.rank DESC, s.id DESC)
    FROM (SELECT * FROM found ORDER BY rank DESC, id DESC LIMIT 20) AS s  -- SEARCH_PAGE
  ), '[]'::json)
)))::text
"""
# A search of no words (only spaces or punctuation) matches nothing.
NO_MATCH_SQL = """SELECT '{"data":{"products":{"totalCount":0,"edges":[]}}}'"""

asyncpg_dsn = libpq_url


def search_statement(text: Any) -> tuple[str, tuple[Any, ...]]:
    if not isinstance(text, str):
        raise ValueError("`search` must be a string")
    terms = search_terms(text)
    if not terms:
        return NO_MATCH_SQL, ()
    every_term = " & ".join(f"{term}:*" for term in terms)
    if len(terms) > 1:
        every_term = f"({every_term}) | {''.join(terms)}:*"
    return SEARCH_SQL, (every_term, " ".join(terms), terms)


async def keep_session(connection: Any) -> None:
    """No reset when a connection goes back to the pool: asyncpg's default sends one more
    statement (advisory unlocks, CLOSE ALL, UNLISTEN, RESET ALL) per request, and these
    requests change no session state (one statement, no transaction, no SET). The API's pool
    sends none either (db/session.py): the reference should not pay a round trip it does not."""


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
        self.pool = await asyncpg.create_pool(
            asyncpg_dsn(url), min_size=1, max_size=POOL_SIZE, reset=keep_session
        )

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
                sql, arguments = statement_for(body)
            except ValueError as error:
                await respond(send, 400, error_body(str(error)))
                return
            async with self.pool.acquire() as connection:
                payload: str = await connection.fetchval(sql, *arguments)
            await respond(send, 200, payload.encode(), GRAPHQL_RESPONSE)
        elif path in ("/readyz", "/healthz") and method == "GET":
            async with self.pool.acquire() as connection:
                await connection.fetchval("SELECT 1")
            await respond(send, 200, b'{"status":"ready"}')
        else:
            await respond(send, 404, error_body("not found"))


def statement_for(body: bytes) -> tuple[str, tuple[Any, ...]]:
    """The SQL answering the request's document, and its arguments."""
    try:
        request = json.loads(body)
    except ValueError as error:
        raise ValueError("body is not JSON") from error
    if not isinstance(request, dict):
        raise ValueError("body is not a JSON object")
    document = request.get("query")
    variables = request.get("variables")
    variables = variables if isinstance(variables, dict) else {}
    if document == DETAIL:
        slug = variables.get("slug")
        if not isinstance(slug, str):
            raise ValueError("`slug` must be a string")
        return DETAIL_SQL, (slug,)
    if document == FLAT:
        return FLAT_SQL, ()
    if document == FILTERED:
        return FILTERED_SQL, ()
    if document == SEARCH:
        return search_statement(variables.get("search"))
    after = parse_after(variables)
    created, key = after if after is not None else (None, None)
    return LISTING_SQL, (created, key, PAGE_SIZE)


def parse_after(variables: dict[str, Any]) -> tuple[datetime, int] | None:
    after = variables.get("after")
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
