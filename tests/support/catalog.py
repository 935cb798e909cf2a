"""A small catalog written straight to the database, and the helpers that read it back over
GraphQL (keyset walks, oracles from the tables), for tests of the read path."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from db.catalog import Category, Product, ProductStatus
from db.reviews import Review, ReviewStatus
from db.users import Role, User
from resolvers.context import Services
from resolvers.users.sessions import start_session
from schema.relay import to_global_id
from tests.support.graphql import GraphQLClient

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Catalog:
    root: Category
    child: Category
    leaf: Category
    products: list[Product] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    # Built only with `extra_categories`: "Storage NN", each holding two products.
    extra: list[Category] = field(default_factory=list)


async def build_catalog(
    services: Services,
    *,
    products: int = 12,
    reviews_per_product: int = 4,
    users: int = 5,
    extra_categories: int = 0,
) -> Catalog:
    """Electronics > Computers > Laptops with `products` products (every 6th a draft, every 5th
    out of stock; names "Laptop Stand N" / "Wireless Mouse N"), and reviews by `users` users
    (reviewer 1's pending). `extra_categories` more categories (even ones under Electronics, odd
    ones under the one before) with two published "Cable" products each, created after the
    others, without reviews.
    """
    async with services.sessions() as session:
        root = Category(name="Electronics", slug="electronics", path=[])
        session.add(root)
        await session.flush()
        child = Category(name="Computers", slug="computers", parent_id=root.id, path=[root.id])
        session.add(child)
        await session.flush()
        leaf = Category(
            name="Laptops", slug="laptops", parent_id=child.id, path=[root.id, child.id]
        )
        session.add(leaf)
        people = [
            User(
                email=f"r{i}@example.com",
                name=f"Reviewer {i}",
                password_hash="x",
                role=Role.CUSTOMER,
            )
            for i in range(users)
        ]
        session.add_all(people)
        await session.flush()
        items = []
        for i in range(products):
            status = ProductStatus.PUBLISHED if i % 6 else ProductStatus.DRAFT
            items.append(
                Product(
                    sku=f"SKU-{i:04d}",
                    name=f"Laptop Stand {i}" if i % 2 else f"Wireless Mouse {i}",
                    slug=f"product-{i}",
                    description="A sturdy aluminium stand." if i % 2 else "A quiet wireless mouse.",
                    price=Decimal("10.00") + i,
                    stock=0 if i % 5 == 0 else 10,
                    status=status,
                    category_id=leaf.id if i % 3 else child.id,
                    created_at=EPOCH + timedelta(hours=i),
                )
            )
        session.add_all(items)
        await session.flush()
        extra: list[Category] = []
        for k in range(extra_categories):
            parent = root if k % 2 == 0 else extra[-1]
            category = Category(
                name=f"Storage {k:02d}",
                slug=f"storage-{k}",
                parent_id=parent.id,
                path=[*parent.path, parent.id],
            )
            session.add(category)
            await session.flush()
            extra.append(category)
            for j in range(2):
                session.add(
                    Product(
                        sku=f"STO-{k:02d}-{j}",
                        name=f"Cable {k}-{j}",
                        slug=f"cable-{k}-{j}",
                        description="A cable.",
                        price=Decimal("5.00"),
                        stock=3,
                        status=ProductStatus.PUBLISHED,
                        category_id=category.id,
                        created_at=EPOCH + timedelta(days=30, hours=2 * k + j),
                    )
                )
        await session.flush()
        for product in items:
            for j in range(min(reviews_per_product, users)):
                session.add(
                    Review(
                        product_id=product.id,
                        user_id=people[j].id,
                        rating=1 + (product.id + j) % 5,
                        title=f"Review {j}",
                        body="Fine.",
                        status=ReviewStatus.APPROVED if j != 1 else ReviewStatus.PENDING,
                        created_at=EPOCH + timedelta(days=1, hours=j),
                    )
                )
        await session.flush()
        await session.execute(
            text(
                """
                UPDATE products p SET rating_count = a.n, rating_sum = a.s,
                  rating_average = round(a.s::numeric / a.n, 2),
                  rating_histogram = ARRAY[a.h1, a.h2, a.h3, a.h4, a.h5]
                FROM (SELECT product_id, count(*) n, sum(rating) s,
                        count(*) FILTER (WHERE rating = 1) h1,
                        count(*) FILTER (WHERE rating = 2) h2,
                        count(*) FILTER (WHERE rating = 3) h3,
                        count(*) FILTER (WHERE rating = 4) h4,
                        count(*) FILTER (WHERE rating = 5) h5
                      FROM reviews WHERE status = 'approved' GROUP BY product_id) a
                WHERE a.product_id = p.id
                """
            )
        )
        await session.commit()
    return Catalog(root, child, leaf, items, people, extra)


async def execute(services: Services, statement: str, **params: object) -> None:
    """Run one SQL statement straight on the database (to shape data a test needs)."""
    async with services.sessions() as session:
        await session.execute(text(statement), params)
        await session.commit()


async def sign_in(services: Services, user: User) -> str:
    """An access token for `user` (no password check: catalog users have none that works)."""
    async with services.sessions() as session:
        issued = await start_session(
            session,
            services.signer,
            user,
            lifetime=timedelta(hours=1),
            user_agent="tests",
            ip_address=None,
        )
        await session.commit()
    return issued.access_token


async def new_user(services: Services, role: Role = Role.CUSTOMER) -> tuple[User, str]:
    """A user straight in the database, signed in: faster than `sign_up` (no password hash)."""
    async with services.sessions() as session:
        user = User(
            email=f"{role.value}-{secrets.token_hex(4)}@example.com",
            name=f"Some {role.value}",
            password_hash="x",
            role=role,
        )
        session.add(user)
        await session.commit()
    return user, await sign_in(services, user)


def gid(type_name: str, key: object) -> str:
    return str(to_global_id(type_name, key))


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


def forged_cursor(values: Any) -> str:
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    price: Decimal
    created_at: datetime
    rating: Decimal
    rating_count: int
    stock: int
    status: str
    category_id: int | None


async def product_rows(services: Services, *, published_only: bool = True) -> list[Row]:
    """The products as the database holds them now: the oracle for expected results."""
    where = "WHERE status = 'published'" if published_only else ""
    async with services.sessions() as session:
        result = await session.execute(
            text(
                "SELECT id, name, price, created_at, rating_average, rating_count, stock, "
                f"status::text, category_id FROM products {where}"
            )
        )
        return [Row(*row) for row in result.all()]


def ids(rows: list[Row]) -> list[str]:
    return [gid("Product", row.id) for row in rows]


PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String,
           $sort: ProductSort, $filter: ProductFilter) {
  products(first: $first, after: $after, last: $last, before: $before,
           sort: $sort, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
  }
}
"""

Between = Callable[[int], Awaitable[Any]]


async def walk_forward(
    gql: GraphQLClient,
    *,
    sort: dict[str, str] | None = None,
    filter: dict[str, Any] | None = None,
    size: int = 7,
    total: int | Callable[[], int] | None = None,
    between: Between | None = None,
) -> list[str]:
    """Every page with first/after; checks pageInfo and totalCount on each page."""
    after: str | None = None
    seen: list[str] = []
    for page in range(100):
        variables = {"first": size, "after": after, "sort": sort, "filter": filter}
        connection = (await gql.data(PAGE, variables))["products"]
        info, edges = connection["pageInfo"], connection["edges"]
        assert info["hasPreviousPage"] is (after is not None), (page, info)
        if total is not None:
            expected_total = total() if callable(total) else total
            assert connection["totalCount"] == expected_total, (page, connection["totalCount"])
        seen += [edge["node"]["id"] for edge in edges]
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
        if not info["hasNextPage"]:
            return seen
        assert len(edges) == size, (page, info)
        after = info["endCursor"]
        if between is not None:
            await between(page)
    raise AssertionError("hasNextPage never became false")


async def walk_backward(
    gql: GraphQLClient,
    *,
    sort: dict[str, str] | None = None,
    filter: dict[str, Any] | None = None,
    size: int = 7,
    total: int | None = None,
) -> list[str]:
    """Every page with last/before, from the end; returns the rows in list order."""
    before: str | None = None
    seen: list[str] = []
    for page in range(100):
        variables = {"last": size, "before": before, "sort": sort, "filter": filter}
        connection = (await gql.data(PAGE, variables))["products"]
        info, edges = connection["pageInfo"], connection["edges"]
        assert info["hasNextPage"] is (before is not None), (page, info)
        if total is not None:
            assert connection["totalCount"] == total
        seen = [edge["node"]["id"] for edge in edges] + seen
        if not info["hasPreviousPage"]:
            return seen
        assert len(edges) == size, (page, info)
        before = info["startCursor"]
    raise AssertionError("hasPreviousPage never became false")
