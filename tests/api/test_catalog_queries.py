"""The catalog read path over HTTP, as a storefront uses it: statement counts, keyset pages,
filters, visibility, Node lookups, product detail and the category tree.

Search has its own module (tests/api/test_search.py).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.settings import Settings
from db.users import Role
from resolvers.context import Services
from tests.support.apps import client_of, running_app
from tests.support.catalog import (
    EPOCH,
    PAGE,
    Catalog,
    Row,
    build_catalog,
    error_codes,
    execute,
    forged_cursor,
    gid,
    ids,
    names,
    new_user,
    product_rows,
    sign_in,
    walk_backward,
    walk_forward,
)
from tests.support.database import StatementCounter, count_for, empty_state
from tests.support.graphql import GraphQLClient, without_cost


async def make_ties(services: Services) -> None:
    """Several products share a name, a price, a creation time and a rating."""
    await execute(
        services, "UPDATE products SET name = regexp_replace(name, ' [0-9]+$', '') WHERE id % 3 = 0"
    )
    await execute(services, "UPDATE products SET price = 9.99 + (id % 4)")
    await execute(
        services,
        "UPDATE products SET created_at = CAST(:epoch AS timestamptz) + (id / 3) * interval '1h'",
        epoch=EPOCH,
    )
    # Some products unrated (average 0); the rest share the five averages the reviews give.
    await execute(services, "DELETE FROM reviews WHERE product_id % 7 = 0")
    await execute(
        services,
        "UPDATE products SET rating_count = 0, rating_sum = 0, rating_average = 0, "
        "rating_histogram = '{0,0,0,0,0}' WHERE id % 7 = 0",
    )


SORT_VALUE: dict[str, Callable[[Row], Any]] = {
    "NAME": lambda row: row.name,
    "PRICE": lambda row: row.price,
    "CREATED_AT": lambda row: row.created_at,
    "RATING": lambda row: row.rating,
}


def expected_order(rows: list[Row], field: str, direction: str) -> list[str]:
    value = SORT_VALUE[field]
    ordered = sorted(rows, key=lambda row: (value(row), row.id), reverse=direction == "DESC")
    return ids(ordered)


# --- 1. statement counts --------------------------------------------------------------------------

LISTING = """
query Listing($after: String, $first: Int) {
  products(first: $first, after: $after, sort: {field: CREATED_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name price { amount currency } inStock
      category { id name parent { name } }
      rating { average count }
      reviews(first: 3) { edges { node { rating title author { name } } } }
    } }
  }
}
"""

CATEGORY_LISTING = """
query Categories($first: Int) {
  categories(first: $first) { edges { node {
    name parent { name }
    children(first: 5) { edges { node { name } } }
    productCount
    products(first: 3) { totalCount edges { node { name } } }
  } } }
}
"""


def check_listing_page(connection: dict[str, Any], catalog: Catalog) -> None:
    """The batched nested fields hold the right rows for every product of the page."""
    leaf, child = catalog.leaf, catalog.child
    for edge in connection["edges"]:
        node = edge["node"]
        assert node["category"]["name"] in {leaf.name, child.name}
        parent = {leaf.name: child.name, child.name: catalog.root.name}[node["category"]["name"]]
        assert node["category"]["parent"] == {"name": parent}
        # Reviewer 1's review is pending; the rest newest first.
        reviews = node["reviews"]["edges"]
        assert [r["node"]["author"]["name"] for r in reviews] == [
            "Reviewer 3",
            "Reviewer 2",
            "Reviewer 0",
        ]
        assert node["rating"]["count"] == 3
        assert node["price"]["currency"] == "USD"


async def test_listing_costs_the_same_statements_for_5_and_100_products(
    gql: GraphQLClient, services: Services, count_statements: StatementCounter
) -> None:
    catalog = await build_catalog(services, products=130, reviews_per_product=4, users=5)
    rows = await product_rows(services)
    visible = len(rows)
    assert visible > 100
    newest_first = expected_order(rows, "CREATED_AT", "DESC")

    small, small_data = await count_for(gql, count_statements, LISTING, {"first": 5})
    large, large_data = await count_for(gql, count_statements, LISTING, {"first": 100})

    assert len(small_data["products"]["edges"]) == 5
    assert len(large_data["products"]["edges"]) == 100
    assert small_data["products"]["totalCount"] == large_data["products"]["totalCount"] == visible
    check_listing_page(large_data["products"], catalog)
    listed = [edge["node"]["id"] for edge in large_data["products"]["edges"]]
    assert listed == newest_first[:100]
    assert small == large, (small, large)
    assert small <= 6, count_statements.statements

    # The second page (after the first's end cursor) likewise.
    costs = []
    for first, data in ((5, small_data), (100, large_data)):
        after = data["products"]["pageInfo"]["endCursor"]
        cost, page = await count_for(
            gql, count_statements, LISTING, {"first": first, "after": after}
        )
        assert page["products"]["totalCount"] == visible
        listed = [edge["node"]["id"] for edge in page["products"]["edges"]]
        assert listed == newest_first[first : 2 * first]
        check_listing_page(page["products"], catalog)
        costs.append(cost)
    assert costs[0] == costs[1], costs
    assert costs[0] <= 6, count_statements.statements


async def test_category_listing_costs_the_same_for_3_and_30_categories(
    gql: GraphQLClient,
    services: Services,
    count_statements: StatementCounter,
    engine: AsyncEngine,
    redis: Redis,
) -> None:
    counts = []
    for extra in (0, 27):
        await empty_state(engine, redis)
        catalog = await build_catalog(
            services, products=30, reviews_per_product=1, users=1, extra_categories=extra
        )
        for first in (None, 100):
            cost, data = await count_for(gql, count_statements, CATEGORY_LISTING, {"first": first})
            counts.append(cost)
            edges = data["categories"]["edges"]
            assert len(edges) == min(first or 20, 3 + extra)
            by_name = {edge["node"]["name"]: edge["node"] for edge in edges}
            electronics, computers = by_name["Electronics"], by_name["Computers"]
            # 30 products, 5 of them drafts: 10 in Computers (5 drafts), 20 in Laptops.
            assert computers["productCount"] == 25
            assert computers["products"]["totalCount"] == 5
            assert len(computers["products"]["edges"]) == 3
            assert computers["parent"] == {"name": "Electronics"}
            assert names(computers["children"]) == ["Laptops"]
            assert by_name["Laptops"]["productCount"] == 20
            assert by_name["Laptops"]["products"]["totalCount"] == 20
            # Every extra category (two products each) is somewhere below Electronics.
            assert electronics["productCount"] == 25 + 2 * extra
            assert electronics["products"] == {"totalCount": 0, "edges": []}
            children = names(electronics["children"])
            assert children == ["Computers", *(c.name for c in catalog.extra[::2])][:5]
            for index, category in enumerate(catalog.extra):
                if category.name in by_name:
                    node = by_name[category.name]
                    assert node["products"]["totalCount"] == 2
                    # Even ones hold the next (odd) one, when there is one.
                    has_child = index % 2 == 0 and index + 1 < len(catalog.extra)
                    assert node["productCount"] == 2 + 2 * has_child
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 7, counts


# --- 2. keyset pagination -------------------------------------------------------------------------

SORTS = [
    (field, direction)
    for field in ("NAME", "PRICE", "CREATED_AT", "RATING")
    for direction in ("ASC", "DESC")
]


@pytest.mark.parametrize(("field", "direction"), SORTS)
async def test_every_page_in_order_both_ways(
    gql: GraphQLClient, services: Services, field: str, direction: str
) -> None:
    await build_catalog(services, products=40, reviews_per_product=3, users=3)
    await make_ties(services)
    rows = await product_rows(services)
    expected = expected_order(rows, field, direction)
    values = [SORT_VALUE[field](row) for row in rows]
    assert len(set(values)) < len(values), "the data must have ties"
    sort = {"field": field, "direction": direction}

    forward = await walk_forward(gql, sort=sort, total=len(rows))
    assert forward == expected
    backward = await walk_backward(gql, sort=sort, total=len(rows))
    assert backward == expected


async def test_default_directions_and_order(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=20, reviews_per_product=3, users=3)
    await make_ties(services)
    rows = await product_rows(services)
    for field, direction in (("NAME", "ASC"), ("PRICE", "ASC"), ("RATING", "DESC")):
        data = await gql.data(PAGE, {"first": 100, "sort": {"field": field}})
        ordered = [edge["node"]["id"] for edge in data["products"]["edges"]]
        assert ordered == expected_order(rows, field, direction), field
    # No sort: newest first.
    data = await gql.data(PAGE, {"first": 100})
    ordered = [edge["node"]["id"] for edge in data["products"]["edges"]]
    assert ordered == expected_order(rows, "CREATED_AT", "DESC")


INSERTS = [
    ("CREATED_AT", "DESC", {"name": "Newest Lamp", "price": "50.00", "created_at": "2030-01-01"}),
    ("NAME", "ASC", {"name": "AAA Adapter", "price": "50.00", "created_at": "2026-01-01"}),
    ("PRICE", "ASC", {"name": "Cheap Lamp", "price": "0.01", "created_at": "2026-01-01"}),
]


@pytest.mark.parametrize(("field", "direction", "values"), INSERTS)
async def test_pages_stay_stable_when_a_product_is_inserted_at_the_front(
    gql: GraphQLClient, services: Services, field: str, direction: str, values: dict[str, str]
) -> None:
    catalog = await build_catalog(services, products=30, reviews_per_product=0, users=1)
    rows = await product_rows(services)
    expected = expected_order(rows, field, direction)
    inserted: list[int] = []

    async def insert(page: int) -> None:
        await execute(
            services,
            "INSERT INTO products (sku, name, slug, price, stock, status, category_id, created_at)"
            " VALUES (:sku, :name, :slug, :price, 5, 'published', :category, :created_at)",
            sku=f"NEW-{page}",
            name=values["name"],
            slug=f"new-{page}",
            price=Decimal(values["price"]),
            category=catalog.leaf.id,
            created_at=datetime.fromisoformat(values["created_at"] + "T00:00:00+00:00"),
        )
        inserted.append(page)

    seen = await walk_forward(
        gql,
        sort={"field": field, "direction": direction},
        total=lambda: len(rows) + len(inserted),
        between=insert,
    )
    assert len(inserted) >= 3
    assert seen == expected  # no repeats, no skips, and the new rows sit before the cursor
    first_page = await gql.data(PAGE, {"first": 3, "sort": {"field": field}})
    assert first_page["products"]["edges"][0]["node"]["name"] == values["name"]


async def test_page_size_defaults_to_20_and_zero_is_allowed(
    gql: GraphQLClient, services: Services
) -> None:
    await build_catalog(services, products=30, reviews_per_product=0, users=1)
    connection = (await gql.data(PAGE))["products"]
    assert len(connection["edges"]) == 20
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["totalCount"] == 25
    connection = (await gql.data(PAGE, {"first": 100}))["products"]
    assert len(connection["edges"]) == 25
    assert connection["pageInfo"]["hasNextPage"] is False
    connection = (await gql.data(PAGE, {"first": 0}))["products"]
    assert connection["edges"] == []
    assert connection["totalCount"] == 25
    assert connection["pageInfo"]["hasNextPage"] is True


BAD_PAGE_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"first": 101}, "at most 100"),
    ({"last": 101}, "at most 100"),
    ({"first": -1}, "negative"),
    ({"last": -5}, "negative"),
    ({"first": 2, "last": 2}, "not both"),
    ({"first": 2, "after": "garbage"}, "cursor"),
    ({"last": 2, "before": "%%%"}, "cursor"),
    ({"first": 2, "after": "~" + forged_cursor(["2026-01-01T00:00:00+00:00", 1])}, "cursor"),
    ({"first": 2, "after": forged_cursor(["2026-01-01T00:00:00+00:00"])}, "cursor"),
    ({"first": 2, "after": forged_cursor(["yesterday", 1])}, "cursor"),
    ({"first": 2, "after": forged_cursor({"id": 1})}, "cursor"),
    ({"first": 2, "after": forged_cursor(["2026-01-01T00:00:00+00:00", "x"])}, "cursor"),
    ({"first": 2, "after": forged_cursor(["2026-01-01T00:00:00+00:00", 2**70])}, "cursor"),
    ({"first": 2, "after": forged_cursor(["2026-01-01T00:00:00+00:00", True])}, "cursor"),
    ({"first": 2, "after": forged_cursor(["2026-01-01T00:00:00+00:00", 1.5])}, "cursor"),
    ({"first": 2, "after": forged_cursor(["2026-01-01T00:00:00", 1])}, "cursor"),
    ({"sort": {"field": "PRICE"}, "after": forged_cursor(["abc", 1])}, "cursor"),
    ({"sort": {"field": "PRICE"}, "after": forged_cursor(["NaN", 1])}, "cursor"),
    ({"sort": {"field": "PRICE"}, "after": forged_cursor(["1e999999", 1])}, "cursor"),
    ({"sort": {"field": "PRICE"}, "after": forged_cursor([12, 1])}, "cursor"),
    ({"sort": {"field": "NAME"}, "after": forged_cursor([12, 1])}, "cursor"),
    ({"sort": {"field": "NAME"}, "after": forged_cursor(["a\u0000b", 1])}, "cursor"),
    ({"sort": {"field": "RATING"}, "after": forged_cursor(["x", 1])}, "cursor"),
    ({"filter": {"search": "stand"}, "after": forged_cursor(["x", 1])}, "cursor"),
    ({"filter": {"search": "stand"}, "after": forged_cursor([float("inf"), 1])}, "cursor"),
    ({"filter": {"search": "stand"}, "before": "~" + forged_cursor([0.5])}, "cursor"),
    ({"filter": {"search": "stand"}, "after": "~~~"}, "cursor"),
]


async def test_bad_page_arguments_are_bad_user_input(
    gql: GraphQLClient, services: Services
) -> None:
    await build_catalog(services, products=3, reviews_per_product=0, users=1)
    for variables, fragment in BAD_PAGE_ARGUMENTS:
        body = await gql.post(PAGE, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], (variables, body)
        assert fragment in body["errors"][0]["message"], (variables, body)
        assert body["data"] is None  # never clamped to a page


async def test_cursor_of_one_sort_is_refused_by_another(
    gql: GraphQLClient, services: Services
) -> None:
    await build_catalog(services, products=6, reviews_per_product=0, users=1)
    by_name = await gql.data(PAGE, {"first": 1, "sort": {"field": "NAME"}})
    cursor = by_name["products"]["pageInfo"]["endCursor"]
    body = await gql.post(PAGE, {"first": 1, "after": cursor, "sort": {"field": "PRICE"}})
    assert error_codes(body) == ["BAD_USER_INPUT"], body


# --- 3. filters -----------------------------------------------------------------------------------

FILTERED = """
query Filtered($filter: ProductFilter) {
  products(first: 100, filter: $filter, sort: {field: PRICE}) {
    totalCount edges { node { id name price { amount } inStock status rating { average } } }
  }
}
"""


async def filtered(gql: GraphQLClient, filter: dict[str, Any]) -> list[str]:
    connection = (await gql.data(FILTERED, {"filter": filter}))["products"]
    found = [edge["node"]["id"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(found)
    return found


def by_price(rows: list[Row]) -> list[str]:
    return ids(sorted(rows, key=lambda row: (row.price, row.id)))


async def test_filters(gql: GraphQLClient, services: Services) -> None:
    catalog = await build_catalog(services, products=30, reviews_per_product=3, users=3)
    await execute(services, "UPDATE products SET price = 10.50 WHERE sku = 'SKU-0007'")
    await execute(services, "UPDATE products SET price = 10.49 WHERE sku = 'SKU-0008'")
    rows = await product_rows(services)
    leaf, child, root = catalog.leaf.id, catalog.child.id, catalog.root.id

    direct = await filtered(gql, {"categoryId": gid("Category", leaf)})
    assert direct == by_price([r for r in rows if r.category_id == leaf])
    assert await filtered(gql, {"categoryId": gid("Category", root)}) == []
    subtree = await filtered(gql, {"categoryId": gid("Category", root), "includeDescendants": True})
    assert subtree == by_price(rows)
    below_child = await filtered(
        gql, {"categoryId": gid("Category", child), "includeDescendants": True}
    )
    assert below_child == by_price(rows)
    assert await filtered(
        gql, {"categoryId": gid("Category", leaf), "includeDescendants": True}
    ) == by_price([r for r in rows if r.category_id == leaf])

    # Prices are exact decimals: both bounds inclusive, to the cent.
    cases: list[tuple[dict[str, Any], Callable[[Row], bool]]] = [
        ({"priceMin": "10.50"}, lambda r: r.price >= Decimal("10.50")),
        ({"priceMin": "10.51"}, lambda r: r.price >= Decimal("10.51")),
        ({"priceMax": "10.50"}, lambda r: r.price <= Decimal("10.50")),
        ({"priceMax": "10.49"}, lambda r: r.price <= Decimal("10.49")),
        (
            {"priceMin": "10.49", "priceMax": "10.50"},
            lambda r: Decimal("10.49") <= r.price <= Decimal("10.50"),
        ),
        ({"priceMin": "20", "priceMax": "25.00"}, lambda r: 20 <= r.price <= 25),
        ({"inStock": True}, lambda r: r.stock > 0),
        ({"inStock": False}, lambda r: r.stock == 0),
        ({"ratingMin": 3.0}, lambda r: r.rating_count > 0 and r.rating >= 3),
        ({"ratingMin": 3.5}, lambda r: r.rating_count > 0 and r.rating >= Decimal("3.5")),
        ({"ratingMin": 0}, lambda r: r.rating_count > 0),
        (
            {"categoryId": gid("Category", leaf), "inStock": True, "priceMax": "30"},
            lambda r: r.category_id == leaf and r.stock > 0 and r.price <= 30,
        ),
        (
            {"categoryId": gid("Category", root), "includeDescendants": True, "ratingMin": 2.5},
            lambda r: r.rating_count > 0 and r.rating >= Decimal("2.5"),
        ),
        ({"status": "PUBLISHED", "inStock": False}, lambda r: r.stock == 0),
    ]
    for filter, keep in cases:
        expected = by_price([r for r in rows if keep(r)])
        assert expected, filter  # every case selects something...
        assert await filtered(gql, filter) == expected, filter
    assert len({len(by_price([r for r in rows if keep(r)])) for _, keep in cases}) > 3

    money = await gql.data(FILTERED, {"filter": {"priceMin": "10.5", "priceMax": "10.5"}})
    assert [e["node"]["price"]["amount"] for e in money["products"]["edges"]] == ["10.50"]


async def test_invalid_filters(gql: GraphQLClient, services: Services) -> None:
    catalog = await build_catalog(services, products=6, reviews_per_product=0, users=1)
    for filter in (
        {"priceMin": "-0.01"},
        {"priceMax": "-5"},
        {"priceMin": "NaN"},
        {"priceMax": "Infinity"},
        {"priceMin": "1e20"},
        {"ratingMin": 7},
        {"ratingMin": -1},
    ):
        body = await gql.post(FILTERED, {"filter": filter})
        assert error_codes(body) == ["BAD_USER_INPUT"], (filter, body)
    body = await gql.post(FILTERED, {"filter": {"priceMin": "ten"}})
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    # An id of another type, or of no category, names no category: nothing matches.
    for category_id in (gid("Product", catalog.products[1].id), gid("Category", 999)):
        assert await filtered(gql, {"categoryId": category_id}) == []
        assert await filtered(gql, {"categoryId": category_id, "includeDescendants": True}) == []
    body = await gql.post(FILTERED, {"filter": {"categoryId": "%%"}})
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    # Min above max is simply empty.
    assert await filtered(gql, {"priceMin": "20", "priceMax": "10"}) == []


async def test_status_filter_is_for_staff(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=12, reviews_per_product=0, users=1)
    await execute(services, "UPDATE products SET status = 'archived' WHERE sku = 'SKU-0005'")
    all_rows = await product_rows(services, published_only=False)
    staff = gql.as_user((await new_user(services, Role.STAFF))[1])
    customer = gql.as_user((await new_user(services))[1])

    for status in ("DRAFT", "ARCHIVED", "PUBLISHED"):
        expected = by_price([r for r in all_rows if r.status == status.lower()])
        assert expected
        assert await filtered(staff, {"status": status}) == expected
    assert await filtered(staff, {}) == by_price(all_rows)
    assert await filtered(staff, {"status": "DRAFT", "inStock": False}) == by_price(
        [r for r in all_rows if r.status == "draft" and r.stock == 0]
    )

    for viewer in (gql, customer):
        for status in ("DRAFT", "ARCHIVED"):
            body = await viewer.post(FILTERED, {"filter": {"status": status}})
            assert error_codes(body) == ["FORBIDDEN"], body
            assert body["data"] is None
        published = [r for r in all_rows if r.status == "published"]
        assert await filtered(viewer, {"status": "PUBLISHED"}) == by_price(published)


# --- 5. visibility and Node -----------------------------------------------------------------------

HIDDEN_PROBE = """
query Probe($id: ID!, $slug: String!, $ids: [ID!]!, $category: ID!) {
  product(id: $id) { id }
  bySlug: product(slug: $slug) { id }
  node(id: $id) { id }
  nodes(ids: $ids) { id }
  category(id: $category) {
    productCount
    products(first: 100) { totalCount edges { node { id } } }
    sorted: products(first: 100, sort: {field: NAME}) { totalCount edges { node { id } } }
  }
}
"""


async def test_unpublished_products_are_invisible_to_the_public(
    gql: GraphQLClient, services: Services
) -> None:
    catalog = await build_catalog(services, products=12, reviews_per_product=0, users=1)
    await execute(services, "UPDATE products SET status = 'archived' WHERE sku = 'SKU-0004'")
    every = await product_rows(services, published_only=False)
    hidden = [r for r in every if r.status != "published"]
    assert {r.status for r in hidden} == {"draft", "archived"}
    # Drafts sit in Computers, the archived one in Laptops (below Computers).
    assert {r.category_id for r in hidden} == {catalog.child.id, catalog.leaf.id}
    below = {
        catalog.child.id: {catalog.child.id, catalog.leaf.id},
        catalog.leaf.id: {catalog.leaf.id},
    }
    _, staff_token = await new_user(services, Role.STAFF)
    _, customer_token = await new_user(services)

    for token, sees_all in ((None, False), (customer_token, False), (staff_token, True)):
        viewer = gql.as_user(token)
        listed = await walk_forward(viewer, size=50)
        visible = every if sees_all else [r for r in every if r.status == "published"]
        assert sorted(listed) == sorted(ids(visible)), token
        for row in hidden:
            slug = await product_slug(services, row.id)
            data = await viewer.data(
                HIDDEN_PROBE,
                {
                    "id": gid("Product", row.id),
                    "slug": slug,
                    "ids": [gid("Product", row.id)],
                    "category": gid("Category", row.category_id),
                },
            )
            found = {"id": gid("Product", row.id)} if sees_all else None
            assert data["product"] == data["bySlug"] == data["node"] == found, token
            assert data["nodes"] == [found]
            direct = [r for r in visible if r.category_id == row.category_id]
            for connection in (data["category"]["products"], data["category"]["sorted"]):
                assert connection["totalCount"] == len(direct)
                assert sorted(e["node"]["id"] for e in connection["edges"]) == sorted(ids(direct))
            subtree = [r for r in visible if r.category_id in below[row.category_id or 0]]
            assert data["category"]["productCount"] == len(subtree)


async def product_slug(services: Services, product_id: int) -> str:
    async with services.sessions() as session:
        slug = await session.scalar(
            text("SELECT slug FROM products WHERE id = :id"), {"id": product_id}
        )
    assert isinstance(slug, str)
    return slug


async def test_category_product_pages_beyond_the_first_hide_drafts(
    gql: GraphQLClient, services: Services
) -> None:
    catalog = await build_catalog(services, products=36, reviews_per_product=0, users=1)
    # Computers holds every third product, half of them drafts.
    every = await product_rows(services, published_only=False)
    assert sum(r.category_id == catalog.child.id and r.status == "draft" for r in every) == 6
    rows = [r for r in await product_rows(services) if r.category_id == catalog.child.id]
    query = """
    query($id: ID!, $after: String) { category(id: $id) {
      products(first: 5, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }
    """
    after, seen = None, []
    for _ in range(10):
        data = await gql.data(query, {"id": gid("Category", catalog.child.id), "after": after})
        connection = data["category"]["products"]
        assert connection["totalCount"] == len(rows)
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == expected_order(rows, "CREATED_AT", "DESC")


async def test_stock_is_for_staff(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=6, reviews_per_product=0, users=1)
    query = '{ product(slug: "product-1") { name inStock stock } }'
    staff = gql.as_user((await new_user(services, Role.STAFF))[1])
    assert (await staff.data(query))["product"] == {
        "name": "Laptop Stand 1",
        "inStock": True,
        "stock": 10,
    }
    customer = gql.as_user((await new_user(services))[1])
    body = await customer.post(query)
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"]["product"] == {"name": "Laptop Stand 1", "inStock": True, "stock": None}
    body = await gql.post(query)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"]["product"]["stock"] is None


NODE = """
query($id: ID!) { node(id: $id) { __typename id ... on Product { name } ... on Category { name } } }
"""


async def test_node_returns_only_the_type_its_id_names(
    gql: GraphQLClient, services: Services
) -> None:
    catalog = await build_catalog(services, products=6, reviews_per_product=1, users=1)
    # Category 1 and product 1 (a draft) share the key; product 2 is published.
    assert catalog.root.id == 1
    category = await gql.data(NODE, {"id": gid("Category", 1)})
    assert category["node"] == {
        "__typename": "Category",
        "id": gid("Category", 1),
        "name": "Electronics",
    }
    product = await gql.data(NODE, {"id": gid("Product", 2)})
    assert product["node"]["__typename"] == "Product"
    assert product["node"]["name"] == "Laptop Stand 1"
    assert (await gql.data(NODE, {"id": gid("Category", 2)}))["node"]["__typename"] == "Category"
    review = await gql.data(
        "query($id: ID!) { node(id: $id) { __typename ... on Review { rating } } }",
        {"id": gid("Review", 2)},
    )
    assert review["node"]["__typename"] == "Review"

    for unknown in (
        gid("Product", "abc"),
        gid("Product", ""),
        gid("Product", -2),
        gid("Product", 10**30),
        gid("Product", 999),
        gid("Nope", 2),
        gid("Session", 2),
        gid("product", 2),
    ):
        body = await gql.post(NODE, {"id": unknown})
        assert without_cost(body) == {"data": {"node": None}}, (unknown, body)
    no_colon = base64.urlsafe_b64encode(b"Product2").decode()
    for malformed in ("abc", "%%%", "\u00e9t\u00e9", no_colon):
        body = await gql.post(NODE, {"id": malformed})
        assert error_codes(body) == ["BAD_USER_INPUT"], (malformed, body)


async def test_nodes_keeps_order_with_nulls_and_has_a_limit(
    gql: GraphQLClient, services: Services, count_statements: StatementCounter
) -> None:
    await build_catalog(services, products=6, reviews_per_product=1, users=1)
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
    requested = [
        gid("Product", 3),
        gid("Product", 1),  # a draft
        gid("Category", 2),
        gid("Product", "abc"),
        gid("Product", 2),
        gid("Product", 3),
        gid("User", 1),  # not the caller's
    ]
    count_statements.statements.clear()
    data = await gql.data(query, {"ids": requested})
    assert data["nodes"] == [
        {"__typename": "Product", "id": gid("Product", 3)},
        None,
        {"__typename": "Category", "id": gid("Category", 2)},
        None,
        {"__typename": "Product", "id": gid("Product", 2)},
        {"__typename": "Product", "id": gid("Product", 3)},
        None,
    ]
    assert count_statements.count == 2  # one batch per type
    assert (await gql.data(query, {"ids": []}))["nodes"] == []
    at_limit = await gql.data(query, {"ids": [gid("Product", 2)] * 100})
    assert len(at_limit["nodes"]) == 100
    body = await gql.post(query, {"ids": [gid("Product", 2)] * 101})
    assert error_codes(body) == ["BAD_USER_INPUT"], body


async def test_node_of_a_user_is_for_that_user_and_staff(
    gql: GraphQLClient, services: Services
) -> None:
    ann, ann_token = await new_user(services)
    _, bob_token = await new_user(services)
    _, staff_token = await new_user(services, Role.STAFF)
    ann_id = gid("User", ann.id)
    query = "query($id: ID!) { node(id: $id) { __typename id ... on User { name email } } }"
    assert (await gql.data(query, {"id": ann_id}))["node"] is None
    assert (await gql.as_user(bob_token).data(query, {"id": ann_id}))["node"] is None
    for token in (ann_token, staff_token):
        node = (await gql.as_user(token).data(query, {"id": ann_id}))["node"]
        assert node == {"__typename": "User", "id": ann_id, "name": ann.name, "email": ann.email}
    unknown = await gql.as_user(staff_token).data(query, {"id": gid("User", 999)})
    assert unknown["node"] is None


# --- 6. product detail ----------------------------------------------------------------------------

DETAIL = """
query Detail($slug: String!, $first: Int, $after: String) {
  product(slug: $slug) {
    id name sku slug description status attributes images { url alt }
    price { amount currency }
    rating { average count histogram { stars count } }
    category { name ancestors { name } }
    reviews(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { node { id rating title status author { __typename name } } }
    }
  }
}
"""


async def test_product_detail_money_and_rating(gql: GraphQLClient, services: Services) -> None:
    catalog = await build_catalog(services, products=6, reviews_per_product=5, users=5)
    product = catalog.products[1]
    await execute(
        services,
        'UPDATE products SET price = 1234.50, attributes = \'{"color": "black"}\', '
        'images = \'[{"url": "https://img.example/1.png", "alt": "Front"}]\' WHERE id = :id',
        id=product.id,
    )
    data = (await gql.data(DETAIL, {"slug": "product-1", "first": 10}))["product"]
    assert data["price"] == {"amount": "1234.50", "currency": "USD"}
    assert data["attributes"] == {"color": "black"}
    assert data["images"] == [{"url": "https://img.example/1.png", "alt": "Front"}]
    assert data["status"] == "PUBLISHED"
    assert data["category"] == {
        "name": "Laptops",
        "ancestors": [{"name": "Electronics"}, {"name": "Computers"}],
    }
    # Approved reviews: reviewers 0, 2, 3 and 4 (reviewer 1's is pending).
    ratings = [1 + (product.id + j) % 5 for j in (0, 2, 3, 4)]
    assert data["rating"]["count"] == 4
    assert data["rating"]["average"] == round(sum(ratings) / 4, 2)
    assert data["rating"]["histogram"] == [
        {"stars": stars, "count": ratings.count(stars)} for stars in range(1, 6)
    ]
    assert data["reviews"]["totalCount"] == 4
    assert sorted(edge["node"]["rating"] for edge in data["reviews"]["edges"]) == sorted(ratings)

    # Without approved reviews: 0, and five empty buckets.
    await execute(
        services,
        "UPDATE products SET rating_count = 0, rating_sum = 0, rating_average = 0, "
        "rating_histogram = '{0,0,0,0,0}' WHERE id = :id",
        id=product.id,
    )
    data = (await gql.data(DETAIL, {"slug": "product-1"}))["product"]
    assert data["rating"] == {
        "average": 0.0,
        "count": 0,
        "histogram": [{"stars": s, "count": 0} for s in range(1, 6)],
    }


@pytest.fixture
async def executor_app(settings: Settings) -> AsyncIterator[Starlette]:
    """An app without compiled queries: the executor's loaders and queries answer."""
    async with running_app(settings, compiled_queries=False) as application:
        yield application


async def test_product_reviews_page_on(
    client: httpx.AsyncClient, services: Services, executor_app: Starlette
) -> None:
    # (`client`: the session's app, whose fixture starts every test from empty tables.)
    await build_catalog(services, products=6, reviews_per_product=5, users=5)
    gql = client_of(executor_app)
    count_statements = StatementCounter()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        count_statements.statements.append(statement)

    engine = executor_app.state.services.sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    first = (await gql.data(DETAIL, {"slug": "product-1", "first": 2}))["product"]["reviews"]
    assert any("LATERAL" in s for s in count_statements.statements)  # the batched first page
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    # Newest first: reviewers 4, 3, then 2, 0.
    assert [e["node"]["author"]["name"] for e in first["edges"]] == ["Reviewer 4", "Reviewer 3"]
    assert {e["node"]["author"]["__typename"] for e in first["edges"]} == {"PublicProfile"}

    count_statements.statements.clear()
    after = first["pageInfo"]["endCursor"]
    second = (await gql.data(DETAIL, {"slug": "product-1", "first": 2, "after": after}))["product"][
        "reviews"
    ]
    assert not any("LATERAL" in s for s in count_statements.statements)
    assert [e["node"]["author"]["name"] for e in second["edges"]] == ["Reviewer 2", "Reviewer 0"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["totalCount"] == 4
    assert {e["node"]["status"] for e in first["edges"] + second["edges"]} == {"APPROVED"}

    # Backwards from the end gives the same reviews.
    last = await gql.data(
        """{ product(slug: "product-1") { reviews(last: 3) {
            pageInfo { hasPreviousPage hasNextPage } edges { node { author { name } } } } } }"""
    )
    reviews = last["product"]["reviews"]
    assert [e["node"]["author"]["name"] for e in reviews["edges"]] == [
        "Reviewer 3",
        "Reviewer 2",
        "Reviewer 0",
    ]
    assert reviews["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False}

    body = await gql.post(DETAIL, {"slug": "product-1", "first": 2, "after": "bogus"})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    body = await gql.post(DETAIL, {"slug": "product-1", "first": 101})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    event.remove(engine, "before_cursor_execute", record)


async def test_review_author_exposes_only_the_name(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=2, reviews_per_product=1, users=1)
    for field in ("email", "id", "role", "isActive"):
        query = '{ product(slug: "product-1") { reviews { edges { node { author { FIELD } } } } } }'
        body = await gql.post(query.replace("FIELD", field))
        assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], (field, body)


async def test_a_pending_review_is_shown_to_its_author_only(
    gql: GraphQLClient, services: Services
) -> None:
    catalog = await build_catalog(services, products=6, reviews_per_product=3, users=3)
    # Reviewer 1's reviews are pending: sign in as them.
    author = gql.as_user(await sign_in(services, catalog.users[1]))
    _, other_token = await new_user(services)
    _, staff_token = await new_user(services, Role.STAFF)
    review_id = await review_of(services, catalog.users[1].id, catalog.products[1].id)

    def titles(reviews: dict[str, Any]) -> list[str]:
        return [edge["node"]["title"] for edge in reviews["edges"]]

    listing = (await author.data(DETAIL, {"slug": "product-1", "first": 10}))["product"]
    assert titles(listing["reviews"]) == ["Review 2", "Review 1", "Review 0"]
    assert listing["reviews"]["totalCount"] == 3
    statuses = [edge["node"]["status"] for edge in listing["reviews"]["edges"]]
    assert statuses == ["APPROVED", "PENDING", "APPROVED"]
    assert listing["rating"]["count"] == 2  # the aggregate counts approved reviews only
    # Also on a page beyond the first (not batched), and in the batched listing.
    page = (await author.data(DETAIL, {"slug": "product-1", "first": 1}))["product"]["reviews"]
    assert titles(page) == ["Review 2"]
    after = page["pageInfo"]["endCursor"]
    rest = await author.data(DETAIL, {"slug": "product-1", "first": 1, "after": after})
    assert titles(rest["product"]["reviews"]) == ["Review 1"]
    assert rest["product"]["reviews"]["totalCount"] == 3
    batched = await author.data(BATCHED_REVIEWS)
    listed = {e["node"]["name"]: e["node"]["reviews"] for e in batched["products"]["edges"]}
    assert titles(listed["Laptop Stand 1"]) == ["Review 2", "Review 1", "Review 0"]
    assert listed["Laptop Stand 1"]["totalCount"] == 3
    assert (await author.data(REVIEW_NODE, {"id": review_id}))["node"] == {
        "title": "Review 1",
        "status": "PENDING",
    }

    # Staff see product pages as everyone does (they moderate elsewhere).
    for token in (None, other_token, staff_token):
        viewer = gql.as_user(token)
        data = (await viewer.data(DETAIL, {"slug": "product-1", "first": 10}))["product"]
        assert titles(data["reviews"]) == ["Review 2", "Review 0"], token
        assert data["reviews"]["totalCount"] == 2
        page = (await viewer.data(DETAIL, {"slug": "product-1", "first": 1}))["product"]
        after = page["reviews"]["pageInfo"]["endCursor"]
        rest = await viewer.data(DETAIL, {"slug": "product-1", "first": 1, "after": after})
        assert titles(rest["product"]["reviews"]) == ["Review 0"]
        batched = await viewer.data(BATCHED_REVIEWS)
        listed = {e["node"]["name"]: e["node"]["reviews"] for e in batched["products"]["edges"]}
        assert titles(listed["Laptop Stand 1"]) == ["Review 2", "Review 0"]
        assert listed["Laptop Stand 1"]["totalCount"] == 2
    for token in (None, other_token):
        assert (await gql.as_user(token).data(REVIEW_NODE, {"id": review_id}))["node"] is None


BATCHED_REVIEWS = """
{ products(first: 10) { edges { node { name
  reviews(first: 5) { totalCount edges { node { title } } } } } } }
"""
REVIEW_NODE = "query($id: ID!) { node(id: $id) { ... on Review { title status } } }"


async def review_of(services: Services, user_id: int, product_id: int) -> str:
    async with services.sessions() as session:
        key = await session.scalar(
            text("SELECT id FROM reviews WHERE user_id = :user AND product_id = :product"),
            {"user": user_id, "product": product_id},
        )
    return gid("Review", key)


# --- 7. categories --------------------------------------------------------------------------------

CATEGORIES = """
query($parentId: ID, $rootsOnly: Boolean! = false, $first: Int, $after: String) {
  categories(parentId: $parentId, rootsOnly: $rootsOnly, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { name } }
  }
}
"""

CATEGORY = """
query($id: ID, $slug: String) {
  category(id: $id, slug: $slug) {
    id name slug parent { name } ancestors { name }
  }
}
"""


async def test_category_lists(gql: GraphQLClient, services: Services) -> None:
    catalog = await build_catalog(
        services, products=6, reviews_per_product=0, users=1, extra_categories=3
    )
    everything = (await gql.data(CATEGORIES))["categories"]
    assert names(everything) == [
        "Computers",
        "Electronics",
        "Laptops",
        "Storage 00",
        "Storage 01",
        "Storage 02",
    ]
    assert everything["totalCount"] == 6
    roots = (await gql.data(CATEGORIES, {"rootsOnly": True}))["categories"]
    assert names(roots) == ["Electronics"] and roots["totalCount"] == 1
    children = await gql.data(CATEGORIES, {"parentId": gid("Category", catalog.root.id)})
    assert names(children["categories"]) == ["Computers", "Storage 00", "Storage 02"]
    nested = await gql.data(CATEGORIES, {"parentId": gid("Category", catalog.extra[0].id)})
    assert names(nested["categories"]) == ["Storage 01"]
    leaf = await gql.data(CATEGORIES, {"parentId": gid("Category", catalog.leaf.id)})
    assert leaf["categories"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        "edges": [],
    }
    # An id of another type names no category.
    other = await gql.data(CATEGORIES, {"parentId": gid("Product", catalog.root.id)})
    assert other["categories"]["edges"] == []
    body = await gql.post(CATEGORIES, {"parentId": "%%"})
    assert error_codes(body) == ["BAD_USER_INPUT"]

    # Paging through them by name.
    page = (await gql.data(CATEGORIES, {"first": 4}))["categories"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await gql.data(CATEGORIES, {"first": 4, "after": page["pageInfo"]["endCursor"]}))[
        "categories"
    ]
    assert names(page) + names(rest) == names(everything)
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True
    assert rest["totalCount"] == 6


async def test_category_lookup(gql: GraphQLClient, services: Services) -> None:
    catalog = await build_catalog(services, products=3, reviews_per_product=0, users=1)
    laptops = {
        "id": gid("Category", catalog.leaf.id),
        "name": "Laptops",
        "slug": "laptops",
        "parent": {"name": "Computers"},
        "ancestors": [{"name": "Electronics"}, {"name": "Computers"}],
    }
    assert (await gql.data(CATEGORY, {"slug": "laptops"}))["category"] == laptops
    assert (await gql.data(CATEGORY, {"id": laptops["id"]}))["category"] == laptops
    root = (await gql.data(CATEGORY, {"slug": "electronics"}))["category"]
    assert root["parent"] is None and root["ancestors"] == []
    assert (await gql.data(CATEGORY, {"slug": "nope"}))["category"] is None
    assert (await gql.data(CATEGORY, {"id": gid("Category", 999)}))["category"] is None
    assert (await gql.data(CATEGORY, {"id": gid("Product", catalog.leaf.id)}))["category"] is None
    for variables in ({}, {"id": laptops["id"], "slug": "laptops"}, {"id": "%%"}):
        body = await gql.post(CATEGORY, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], (variables, body)
    # product(...) follows the same rule.
    body = await gql.post('{ product(id: "UHJvZHVjdDoy", slug: "product-1") { id } }')
    assert error_codes(body) == ["BAD_USER_INPUT"]
    body = await gql.post("{ product { id } }")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert (await gql.data(f'{{ product(id: "{gid("Category", 2)}") {{ id }} }}'))[
        "product"
    ] is None


async def test_children_page_beyond_the_first(gql: GraphQLClient, services: Services) -> None:
    catalog = await build_catalog(
        services, products=3, reviews_per_product=0, users=1, extra_categories=9
    )
    query = """
    query($slug: String!, $after: String) { category(slug: $slug) {
      children(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { name } } } } }
    """
    expected = ["Computers", "Storage 00", "Storage 02", "Storage 04", "Storage 06", "Storage 08"]
    after, seen = None, []
    for _ in range(10):
        data = await gql.data(query, {"slug": "electronics", "after": after})
        children = data["category"]["children"]
        assert children["totalCount"] == len(expected)
        assert children["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += names(children)
        if not children["pageInfo"]["hasNextPage"]:
            break
        after = children["pageInfo"]["endCursor"]
    assert seen == expected
    assert len(catalog.extra) == 9
    backwards = await gql.data(
        '{ category(slug: "electronics") { children(last: 2) { edges { node { name } } } } }'
    )
    assert names(backwards["category"]["children"]) == expected[-2:]
