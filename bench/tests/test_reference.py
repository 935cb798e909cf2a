"""The reference endpoint answers the listing exactly as the rules say, checked row by row
against plain SQL on the scratch dataset, and pages with its own cursors."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.dataset import Servers, connect, lookup_values
from bench.queries import LOOKUPS, QUERIES, lookups_used, request_body
from bench.reference import PAGE_SIZE, ReferenceApp, asyncpg_dsn, decode_cursor

HEADERS = {"content-type": "application/json", "accept": "application/graphql-response+json"}
LISTING = next(q for q in QUERIES if q.name == "listing")


@pytest.fixture(scope="module")
async def client(scratch_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = ReferenceApp(scratch_url)
    await app.open()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ref") as http:
            yield http
    finally:
        await app.close()


def global_id(type_name: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


async def expected_page(url: str, after: tuple[Any, int] | None) -> dict[str, Any]:
    """The listing page computed the slow, obvious way."""
    connection = await connect(url)
    try:
        total = await connection.fetchval(
            "SELECT count(*) FROM products WHERE status = 'published'"
        )
        rows = await connection.fetch(
            "SELECT * FROM products WHERE status = 'published'"
            " AND ($1::timestamptz IS NULL OR (created_at, id) < ($1, $2::bigint))"
            " ORDER BY created_at DESC, id DESC",
            *(after or (None, None)),
        )
        edges = []
        for row in rows[:PAGE_SIZE]:
            category = None
            if row["category_id"] is not None:
                c = await connection.fetchrow(
                    "SELECT * FROM categories WHERE id = $1", row["category_id"]
                )
                parent = None
                if c["parent_id"] is not None:
                    name = await connection.fetchval(
                        "SELECT name FROM categories WHERE id = $1", c["parent_id"]
                    )
                    parent = {"name": name}
                category = {
                    "id": global_id("Category", c["id"]),
                    "name": c["name"],
                    "parent": parent,
                }
            reviews = await connection.fetch(
                "SELECT r.rating, r.title, u.name FROM reviews r JOIN users u ON u.id = r.user_id"
                " WHERE r.product_id = $1 AND r.status = 'approved'"
                " ORDER BY r.created_at DESC, r.id DESC LIMIT 3",
                row["id"],
            )
            edges.append(
                {
                    "node": {
                        "id": global_id("Product", row["id"]),
                        "name": row["name"],
                        "price": {"amount": str(row["price"]), "currency": row["currency"]},
                        "inStock": row["stock"] > 0,
                        "category": category,
                        "rating": {
                            "average": float(row["rating_average"]),
                            "count": row["rating_count"],
                        },
                        "reviews": {
                            "edges": [
                                {
                                    "node": {
                                        "rating": r["rating"],
                                        "title": r["title"],
                                        "author": {"name": r["name"]},
                                    }
                                }
                                for r in reviews
                            ]
                        },
                    }
                }
            )
        return {
            "totalCount": total,
            "hasNextPage": len(rows) > PAGE_SIZE,
            "last": (rows[PAGE_SIZE - 1]["created_at"], rows[PAGE_SIZE - 1]["id"])
            if len(rows) >= PAGE_SIZE
            else (rows[-1]["created_at"], rows[-1]["id"])
            if rows
            else None,
            "edges": edges,
        }
    finally:
        await connection.close()


async def post(client: httpx.AsyncClient, after: str | None) -> httpx.Response:
    body = request_body(LISTING, {})
    body["variables"]["after"] = after
    return await client.post("/graphql", content=json.dumps(body), headers=HEADERS)


async def test_every_page_matches_plain_sql(client: httpx.AsyncClient, scratch_url: str) -> None:
    after: str | None = None
    seen: list[str] = []
    for _ in range(10):
        response = await post(client, after)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/graphql-response+json"
        products = response.json()["data"]["products"]
        decoded = decode_cursor(after) if after else None
        expected = await expected_page(scratch_url, decoded)
        assert products["totalCount"] == expected["totalCount"]
        assert products["edges"] == expected["edges"]
        assert products["pageInfo"]["hasNextPage"] == expected["hasNextPage"]
        assert decode_cursor(products["pageInfo"]["endCursor"]) == expected["last"]
        seen += [edge["node"]["id"] for edge in products["edges"]]
        if not products["pageInfo"]["hasNextPage"]:
            break
        after = products["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == expected["totalCount"]
    assert len(seen) > 2 * PAGE_SIZE  # the scratch data spans three pages


async def test_the_data_exercises_every_branch(client: httpx.AsyncClient) -> None:
    edges = (await post(client, None)).json()["data"]["products"]["edges"]
    nodes = [edge["node"] for edge in edges]
    assert any(node["category"] is None for node in nodes)
    assert any(node["category"] and node["category"]["parent"] for node in nodes)
    assert any(not node["inStock"] for node in nodes)
    assert any(node["reviews"]["edges"] == [] for node in nodes)
    assert any(len(node["reviews"]["edges"]) == 3 for node in nodes)


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    assert (await post(client, "not a cursor")).status_code == 400
    bad_json = await client.post("/graphql", content=b"{", headers=HEADERS)
    assert bad_json.status_code == 400
    assert (await client.get("/nowhere")).status_code == 404
    assert (await client.get("/readyz")).status_code == 200


def test_asyncpg_dsn() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p@h:5/d") == "postgresql://u:p@h:5/d"
    assert asyncpg_dsn("postgres://h/d") == "postgresql://h/d"
    assert asyncpg_dsn("postgresql://h/d") == "postgresql://h/d"


async def api_answers(
    url: str, redis_url: str, bodies: dict[str, dict[str, Any]], data_dir: Path
) -> dict[str, Any]:
    """Our API's answers to `bodies`, in-process (as bench/sqlcount.py builds it)."""
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        database_url=url,
        redis_url=redis_url,
        data_dir=data_dir,
        log_level="WARNING",
        mail_transport="outbox",
        _env_file=None,
    )
    app = create_app(settings)
    answers: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            for name, body in bodies.items():
                response = await http.post("/graphql", content=json.dumps(body), headers=HEADERS)
                assert response.status_code == 200, response.text
                answers[name] = response.json()
    return answers


@pytest.mark.parametrize("name", ["detail", "flat", "filtered", "search"])
async def test_detail_and_flat_answers_equal_the_apis(
    client: httpx.AsyncClient, scratch_url: str, servers: Servers, tmp_path: Path, name: str
) -> None:
    query = next(q for q in QUERIES if q.name == name)
    values = await lookup_values(scratch_url, {key: LOOKUPS[key] for key in lookups_used((query,))})
    body = request_body(query, values)
    ours = (await api_answers(scratch_url, servers.redis_url, {name: body}, tmp_path))[name]
    response = await client.post("/graphql", content=json.dumps(body), headers=HEADERS)
    assert response.status_code == 200
    theirs = response.json()
    assert "errors" not in ours
    assert theirs["data"] == ours["data"]  # ours also carries `extensions.cost`
    if name == "detail":
        product = ours["data"]["product"]
        assert product["reviews"]["edges"], "the scratch data gives the product reviews"
        assert product["category"]["ancestors"], "and a category below another"
    if name == "filtered":
        edges = ours["data"]["products"]["edges"]
        assert len(edges) >= 2, "the scratch data has rated products within the filter"
        averages = [edge["node"]["rating"]["average"] for edge in edges]
        assert averages == sorted(averages, reverse=True)
        assert min(averages) >= 4
    if name == "search":
        products = ours["data"]["products"]
        assert products["totalCount"] == len(products["edges"]) >= 2, "the word matches"


# Full text, a typo (the trigram fallback), several words, and no word at all.
SEARCHES = ["wireless", "wirelss speakr", "wireless speaker 1", "Lamp", "?!", "nothing-like-it"]


async def test_search_answers_equal_the_apis(
    client: httpx.AsyncClient, scratch_url: str, servers: Servers, tmp_path: Path
) -> None:
    query = next(q for q in QUERIES if q.name == "search")
    bodies = {text: request_body(query, {"search_word": text}) for text in SEARCHES}
    ours = await api_answers(scratch_url, servers.redis_url, bodies, tmp_path)
    for text, body in bodies.items():
        response = await client.post("/graphql", content=json.dumps(body), headers=HEADERS)
        assert response.status_code == 200
        assert response.json()["data"] == ours[text]["data"], text
    assert ours["wirelss speakr"]["data"]["products"]["edges"], "the typo finds speakers"
    assert ours["?!"]["data"]["products"] == {"totalCount": 0, "edges": []}
