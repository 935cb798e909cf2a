"""Compiled queries answer exactly as the executor does (resolvers/compiler).

On a catalog with edge cases (drafts, pending reviews, a deleted author, ties in every sort
key, nulls, unicode, microseconds, images and attributes, empty pages), every query of the
README and the bench, and queries generated from a fixed seed over the fields, arguments,
fragments, directives and variables the compiler knows (and some it does not), are sent to an
app with COMPILED_QUERIES on and to one with it off, as an anonymous, a customer and a staff
viewer. The two answers must be equal as JSON, key order included, status and errors too,
and byte for byte unless `attributes` (JSONB, spaced by PostgreSQL) is selected.

`COMPILED_EQUIVALENCE_EXAMPLES` sets how many generated queries per viewer (`make
test-compiled` runs many more).
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import event, text
from starlette.applications import Starlette

from app.settings import Settings
from bench.queries import QUERIES as BENCH_QUERIES
from db.users import Role
from resolvers.context import Services
from resolvers.users.sessions import VIEWER_SQL
from tests.support.apps import running_app
from tests.support.catalog import EPOCH, Catalog, build_catalog, execute, gid, new_user, sign_in
from tests.support.graphql import GraphQLClient

EXAMPLES = int(os.environ.get("COMPILED_EQUIVALENCE_EXAMPLES", "60"))
SEED = int(os.environ.get("COMPILED_EQUIVALENCE_SEED", "20261202"))

README_QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    (
        """query Listing($after: String) {
  products(first: 20, after: $after, sort: {field: CREATED_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name price { amount currency } inStock
      category { name parent { name } }
      rating { average count }
      reviews(first: 3) { edges { node { rating title author { name } } } }
    } }
  }
}""",
        {"after": None},
    ),
    (
        """query Detail($slug: String!) {
  product(slug: $slug) {
    name description attributes images { url alt }
    price { amount currency }
    category { name ancestors { name slug } }
    rating { average count histogram { stars count } }
    reviews(first: 10) { totalCount edges { cursor node {
      rating title body createdAt author { name } } } }
  }
}""",
        {"slug": "product-1"},
    ),
    (
        '{ products(first: 10, filter: {search: "wirless", priceMax: "100", inStock: true}) {'
        " edges { node { name sku price { amount } } } } }",
        None,
    ),
    ('{ node(id: "UHJvZHVjdDox") { id ... on Product { name } } }', None),
]


async def seed(services: Services) -> Catalog:
    """build_catalog's drafts, pending reviews and categories, plus the edge cases."""
    catalog = await build_catalog(services, products=14, reviews_per_product=4, extra_categories=2)
    products = catalog.products
    # Ties: the same creation time, price and rating for several products.
    await execute(
        services,
        "UPDATE products SET created_at = :at, price = 15.00 WHERE id = ANY(:ids)",
        at=EPOCH,
        ids=[products[2].id, products[3].id, products[4].id],
    )
    await execute(
        services,
        "UPDATE products SET name = :name, description = :description, category_id = NULL,"
        " images = CAST(:images AS jsonb), attributes = CAST(:attributes AS jsonb)"
        " WHERE id = :id",
        name='Ünïcødé ☕ "Mug" \\ 𝄞',
        description="Line one\nLine two — ✓",
        images='[{"url": "https://example.com/a.png", "alt": "Front"},'
        ' {"url": "https://example.com/b.png"}]',
        attributes='{"color": "black", "size": 2, "tags": ["a", "b"], "ratio": 1.5}',
        id=products[5].id,
    )
    # Microseconds in a review's time; a round average (4.00 -> 4.0).
    await execute(
        services,
        "UPDATE reviews SET created_at = created_at + interval '123456 microseconds'"
        " WHERE product_id = :id",
        id=products[7].id,
    )
    await execute(
        services,
        "UPDATE products SET rating_average = 4.00, rating_count = 2 WHERE id = :id",
        id=products[8].id,
    )
    # Verified purchases among the reviews of two products (Product.reviews(verifiedOnly:)).
    await execute(
        services,
        "UPDATE reviews SET verified_purchase = true WHERE product_id IN (:a, :b) AND id % 2 = 0",
        a=products[0].id,
        b=products[7].id,
    )
    # A deleted author: their reviews go with them.
    await execute(services, "DELETE FROM users WHERE id = :id", id=catalog.users[4].id)
    # An archived product (status filters), a category named like another (a tie in the
    # categories' name order) and one with non-ASCII in its name (its cursors escape it).
    await execute(
        services, "UPDATE products SET status = 'archived' WHERE id = :id", id=products[9].id
    )
    await execute(
        services,
        "UPDATE categories SET name = :name WHERE id = :id",
        name="Computers",
        id=catalog.extra[1].id,
    )
    await execute(
        services,
        "UPDATE categories SET name = :name WHERE id = :id",
        name="Zubehör ☕ 𝄞",
        id=catalog.extra[0].id,
    )
    return catalog


@dataclass
class Pool:
    """Values the generator draws arguments from (cursors and ids of the seeded catalog)."""

    cursors: list[str]
    search_cursors: list[str] = field(default_factory=list)
    review_cursors: list[str] = field(default_factory=list)
    category_cursors: list[str] = field(default_factory=list)
    category_ids: list[str] = field(default_factory=list)
    node_ids: list[str] = field(default_factory=list)


# Searches: words, prefixes, several words, a SKU typed with spaces, misspellings that only the
# trigram fallback finds, words that find nothing, only punctuation, empty, non-ASCII.
SEARCHES = [
    "mouse",
    "Wireless mouse",
    "wirless",
    "wirelss mose",
    "stnad",
    "laptop stand 3",
    "lapt",
    "sku 0003",
    "SKU-0004",
    "zzzqqq",
    "!!!",
    "",
    "Ünïcødé",
    "mug",
    "cable",
    "mouse stand",
    "aluminium",
    "quiet wireles",
    "Cabel",
]


@dataclass
class Viewers:
    tokens: dict[str, str | None]


class Generator:
    """Random query documents over the compiled fields (and a few others)."""

    PRODUCT_SCALARS = [
        "id",
        "sku",
        "name",
        "slug",
        "description",
        "inStock",
        "status",
        "attributes",
        "createdAt",
        "updatedAt",
        "__typename",
    ]
    CATEGORY_SCALARS = [
        "id",
        "name",
        "slug",
        "description",
        "createdAt",
        "productCount",
        "__typename",
    ]
    REVIEW_SCALARS = [
        "id",
        "rating",
        "title",
        "body",
        "verifiedPurchase",
        "status",
        "createdAt",
        "updatedAt",
        "__typename",
    ]
    # Compiled for staff only: anyone else gets an error (UNAUTHENTICATED, FORBIDDEN) from the
    # executor. For them only on root objects: errors of objects under pages that load apart
    # come in the order the pages' statements return (the executor's own answer varies).
    STAFF_ONLY = {"Product": ["stock"]}
    UNSUPPORTED = {"Review": ["moderationReason"]}

    def __init__(
        self,
        rng: random.Random,
        cursors: list[str],
        pool: Pool | None = None,
        viewer: str = "anonymous",
    ) -> None:
        self.rng = rng
        self.staff = viewer == "staff"
        self.cursors = cursors
        self.pool = pool or Pool(cursors)
        self.fragments: dict[str, str] = {}
        self.variables: dict[str, tuple[str, Any]] = {}
        # Nested pages whose arguments may be refused (a cursor, RELEVANCE): one per document.
        # With two, under different root fields, which error the executor reports depends on
        # which parent's statement returns first (both null `data`): not a stable answer.
        self.nested_refusable = False

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items: list[str], low: int = 1) -> list[str]:
        count = self.rng.randint(low, min(len(items), 4))
        return self.rng.sample(items, count)

    def variable(self, kind: str, value: Any) -> str:
        name = f"v{len(self.variables)}"
        self.variables[name] = (kind, value)
        return f"${name}"

    def directive(self) -> str:
        if not self.chance(0.1):
            return ""
        if self.chance(0.5):
            return f" @include(if: {self.variable('Boolean!', self.chance(0.7))})"
        return f" @skip(if: {'true' if self.chance(0.3) else 'false'})"

    def field(self, name: str, body: str = "", arguments: str = "") -> str:
        alias = f"a_{name} : " if self.chance(0.1) and name != "__typename" else ""
        return f"{alias}{name}{arguments}{self.directive()}{body}"

    def wrap(self, type_name: str, fields: list[str]) -> str:
        """A selection set, sometimes through a named or inline fragment."""
        inner = " ".join(fields)
        roll = self.rng.random()
        if roll < 0.1:
            name = f"F{len(self.fragments)}"
            self.fragments[name] = f"fragment {name} on {type_name} {{ {inner} }}"
            return f"{{ ...{name} }}"
        if roll < 0.2:
            return f"{{ ... on {type_name} {{ {inner} }} }}"
        return f"{{ {inner} }}"

    def product(self, depth: int) -> str:
        fields = [self.field(n) for n in self.pick(self.PRODUCT_SCALARS)]
        if self.chance(0.4):
            money = self.pick(["amount", "currency", "__typename"])
            fields.append(self.field("price", "{ " + " ".join(money) + " }"))
        if self.chance(0.4):
            rating = self.pick(["average", "count", "histogram { stars count }", "__typename"])
            fields.append(self.field("rating", "{ " + " ".join(rating) + " }"))
        if self.chance(0.2):
            fields.append(self.field("images", "{ " + " ".join(self.pick(["url", "alt"])) + " }"))
        if depth < 2 and self.chance(0.4):
            fields.append(self.field("category", self.category(depth + 1)))
        if depth < 2 and self.chance(0.4):
            fields.append(
                self.field(
                    "reviews", self.connection("Review", depth + 1), self.reviews_arguments()
                )
            )
        if (depth == 0 or self.staff) and self.chance(0.1):
            fields.append(self.field(self.rng.choice(self.STAFF_ONLY["Product"])))
        return self.wrap("Product", fields)

    def category(self, depth: int) -> str:
        fields = [self.field(n) for n in self.pick(self.CATEGORY_SCALARS)]
        if depth < 3 and self.chance(0.4):
            fields.append(self.field("parent", self.category(depth + 1)))
        if depth < 3 and self.chance(0.3):
            fields.append(self.field("ancestors", self.category(depth + 1)))
        if depth < 2 and self.chance(0.15):
            arguments = self.nested_page(self.pool.category_cursors)
            fields.append(self.field("children", self.categories(depth + 1), arguments))
        if depth < 2 and self.chance(0.15):
            arguments = self.nested_page(self.cursors, sort=True)
            body = self.connection("Product", depth + 1)
            fields.append(self.field("products", body, arguments))
        return self.wrap("Category", fields)

    def review(self, depth: int) -> str:
        fields = [self.field(n) for n in self.pick(self.REVIEW_SCALARS)]
        if self.chance(0.5):
            fields.append(
                self.field("author", "{ " + " ".join(self.pick(["name", "__typename"])) + " }")
            )
        if depth < 3 and self.chance(0.3):  # null when the product is hidden from the viewer
            fields.append(self.field("product", self.product(depth + 1)))
        if self.chance(0.05):
            fields.append(self.rng.choice(self.UNSUPPORTED["Review"]))
        return self.wrap("Review", fields)

    def reviews_arguments(self) -> str:
        """Product.reviews: page size, sort, verified only, cursors (of each order, forged),
        backwards pages."""
        size = self.rng.choice([0, 1, 2, 3, 5])
        if self.chance(0.15):
            arguments = [f"last: {size}"]
        else:
            arguments = [f"first: {self.variable('Int', size) if self.chance(0.3) else size}"]
        if self.chance(0.3):
            arguments.append("sort: " + self.rng.choice(["NEWEST", "VERIFIED_FIRST"]))
        if self.chance(0.3):
            arguments.append("verifiedOnly: " + self.rng.choice(["true", "false"]))
        if self.chance(0.25) and self.pool.review_cursors and self.refusable():
            cursor = self.variable("String", self.rng.choice(self.pool.review_cursors))
            arguments.append(f"{'before' if self.chance(0.2) else 'after'}: {cursor}")
        return "(" + ", ".join(arguments) + ")"

    def node(self) -> str:
        """A `Node`: its own fields, and fragments on the types it may be."""
        fields = [self.field(n) for n in self.pick(["id", "__typename"])]
        if self.chance(0.6):
            fields.append(f"... on Product {self.product(1)}")
        elif self.chance(0.7):  # not both: `rating` differs in type between the two
            fields.append(f"... on Review {self.review(1)}")
        if self.chance(0.5):
            fields.append(f"... on Category {self.category(1)}")
        if self.chance(0.1):
            fields.append("... on Order { number }")
        return self.wrap("Node", fields)

    def node_id(self) -> str:
        ids = self.pool.node_ids or ["bm90IGFuIGlk"]
        return self.rng.choice(ids)

    def categories_arguments(self) -> str:
        arguments: list[str] = []
        size = self.rng.choice([0, 1, 2, 3, 20, 101])
        arguments.append(f"{'last' if self.chance(0.1) else 'first'}: {size}")
        roll = self.rng.random()
        if roll < 0.3 and self.pool.category_ids:
            arguments.append(f"parentId: {json.dumps(self.rng.choice(self.pool.category_ids))}")
        elif roll < 0.5:
            arguments.append("rootsOnly: " + self.rng.choice(["true", "false"]))
        if self.chance(0.3) and self.pool.category_cursors:
            cursor = self.variable("String", self.rng.choice(self.pool.category_cursors))
            arguments.append(f"{'before' if self.chance(0.2) else 'after'}: {cursor}")
        return "(" + ", ".join(arguments) + ")"

    def refusable(self) -> bool:
        """Whether this nested page may take an argument the executor could refuse."""
        if self.nested_refusable:
            return False
        self.nested_refusable = True
        return True

    def nested_page(self, cursors: list[str], *, sort: bool = False) -> str:
        """Page arguments of a category's children or products."""
        size = self.rng.choice([0, 1, 2, 3])
        arguments = [f"{'last' if self.chance(0.2) else 'first'}: {size}"]
        if sort and self.chance(0.5):
            sort_fields = ["CREATED_AT", "PRICE", "NAME", "RATING"]
            sort_field = self.rng.choice(sort_fields + ["RELEVANCE"] * self.refusable())
            direction = self.rng.choice(["", ", direction: ASC", ", direction: DESC"])
            arguments.append(f"sort: {{field: {sort_field}{direction}}}")
        if self.chance(0.25) and cursors and self.refusable():
            cursor = self.variable("String", self.rng.choice(cursors))
            arguments.append(f"{'before' if self.chance(0.2) else 'after'}: {cursor}")
        return "(" + ", ".join(arguments) + ")"

    def categories(self, depth: int = 1) -> str:
        return self.connection("Category", depth)

    def connection(self, type_name: str, depth: int) -> str:
        parts: list[str] = []
        for part in self.pick(["totalCount", "pageInfo", "edges", "__typename"]):
            if part == "pageInfo":
                info = self.pick(
                    ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]
                )
                parts.append(self.field("pageInfo", "{ " + " ".join(info) + " }"))
            elif part == "edges":
                node = {"Product": self.product, "Review": self.review, "Category": self.category}
                cursor_chance = 0.5 if type_name == "Category" else 0.4
                edge = [f"node {node[type_name](depth)}"]
                edge += ["cursor"] if self.chance(cursor_chance) else []
                parts.append(self.field("edges", "{ " + " ".join(edge) + " }"))
            else:
                parts.append(self.field(part))
        return "{ " + " ".join(parts) + " }"

    def products_arguments(self) -> str:
        arguments: list[str] = []
        size = self.rng.choice([0, 1, 2, 3, 5, 20, 101])
        if self.chance(0.1):
            arguments.append(f"last: {size}")
        else:
            arguments.append(f"first: {self.variable('Int', size) if self.chance(0.3) else size}")
        if self.chance(0.6):
            sort_field = self.rng.choice(["CREATED_AT", "PRICE", "NAME", "RATING", "RELEVANCE"])
            direction = self.rng.choice(["", ", direction: ASC", ", direction: DESC"])
            arguments.append(f"sort: {{field: {sort_field}{direction}}}")
        search = False
        if self.chance(0.6):
            candidates: list[str | Callable[[], str]] = [
                'priceMin: "12"',
                'priceMax: "20.50"',
                "inStock: true",
                "inStock: false",
                "ratingMin: 3",
                "ratingMin: 4.5",
                "ratingMin: 9",
                'priceMin: "-1"',
                lambda: "search: " + self.search(),
                lambda: "search: " + self.search(),
                lambda: "status: " + self.rng.choice(["DRAFT", "PUBLISHED", "ARCHIVED"]),
                lambda: "includeDescendants: " + self.rng.choice(["true", "false"]),
            ]
            if self.pool.category_ids:
                candidates += [lambda: "categoryId: " + self.category_id()] * 2
            picked = self.rng.sample(candidates, self.rng.randint(1, 4))
            filters = [item if isinstance(item, str) else item() for item in picked]
            by_name = {item.split(":")[0]: item for item in filters}  # each input field once
            filters = list(by_name.values())
            search = "search" in by_name
            arguments.append("filter: {" + ", ".join(filters) + "}")
        if self.chance(0.3):
            cursors = self.cursors
            if search and self.pool.search_cursors and self.chance(0.7):
                cursors = self.pool.search_cursors
            if cursors:
                cursor = self.variable("String", self.rng.choice(cursors))
                arguments.append(f"{'before' if self.chance(0.15) else 'after'}: {cursor}")
        return "(" + ", ".join(arguments) + ")"

    def category_id(self) -> str:
        return json.dumps(self.rng.choice(self.pool.category_ids))

    def search(self) -> str:
        text = self.rng.choice(SEARCHES)
        return self.variable("String", text) if self.chance(0.4) else json.dumps(text)

    def document(self, slugs: list[str], product_ids: list[str]) -> tuple[str, dict[str, Any]]:
        roots: list[str] = []
        for index in range(self.rng.choice([1, 1, 1, 2])):
            alias = f"r{index}: " if index else ""
            roll = self.rng.random()
            if roll < 0.45:
                body = self.connection("Product", 0)
                roots.append(f"{alias}products{self.products_arguments()} {body}")
            elif roll < 0.65:
                if self.chance(0.7):
                    argument = f"slug: {self.variable('String', self.rng.choice(slugs))}"
                else:
                    argument = f'id: "{self.rng.choice(product_ids)}"'
                roots.append(f"{alias}product({argument}) {self.product(0)}")
            elif roll < 0.75:
                roots.append(f"{alias}node(id: {json.dumps(self.node_id())}) {self.node()}")
            elif roll < 0.8:
                ids = [self.node_id() for _ in range(self.rng.choice([0, 1, 2, 4]))]
                roots.append(f"{alias}nodes(ids: {json.dumps(ids)}) {self.node()}")
            elif roll < 0.88:
                body = self.categories()
                roots.append(f"{alias}categories{self.categories_arguments()} {body}")
            elif roll < 0.95:
                if self.chance(0.6):
                    slug = self.rng.choice(["electronics", "laptops", "storage-0", "nope"])
                    argument = f"slug: {json.dumps(slug)}"
                else:
                    ids = self.pool.category_ids or ["bm90IGFuIGlk"]
                    argument = f"id: {json.dumps(self.rng.choice(ids))}"
                roots.append(f"{alias}category({argument}) {self.category(0)}")
            else:
                roots.append(f"{alias}__typename")
        definitions = ", ".join(f"${name}: {kind}" for name, (kind, _) in self.variables.items())
        header = f"query Generated({definitions})" if definitions else "query Generated"
        text = header + " { " + " ".join(roots) + " } " + " ".join(self.fragments.values())
        return text, {name: value for name, (_, value) in self.variables.items()}


def ordered(text: str) -> Any:
    """JSON with objects as lists of pairs: equality then includes key order."""
    return json.loads(text, object_pairs_hook=lambda pairs: ("object", pairs))


@pytest.fixture
async def compiled_app(settings: Settings) -> AsyncIterator[Starlette]:
    async with running_app(settings, compiled_queries=True, answer_path_header=True) as app:
        yield app


@pytest.fixture
async def executor(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with the compiler off: every answer from the executor."""
    async with running_app(settings, compiled_queries=False, answer_path_header=True) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://executor") as http:
            yield http


async def answer(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None, token: str | None
) -> httpx.Response:
    headers = {"accept": "application/graphql-response+json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def compare(
    executor: httpx.AsyncClient,
    compiled: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None,
    token: str | None,
    statements: list[str] | None = None,
) -> str:
    """Both answers, asserted equal; which path the compiled app took. With `statements`
    (what the compiled app's engine runs), a compiled answer is asserted to be one statement."""
    theirs = await answer(executor, query, variables, token)
    if statements is not None:
        statements.clear()
    ours = await answer(compiled, query, variables, token)
    if statements is not None and ours.headers.get("x-catalog-path") == "compiled":
        # Besides the signed-in viewer's lookup (the token's user, on either path).
        answering = [s for s in statements if s != VIEWER_SQL]
        assert len(answering) == 1, (query, variables, statements)
        assert len(statements) == (2 if token else 1), statements
    assert theirs.headers.get("x-catalog-path") in (None, "executor")  # (None: not executed)
    shown = f"\n{query}\n{variables}\nexecutor: {theirs.text[:3000]}\ncompiled: {ours.text[:3000]}"
    assert ours.status_code == theirs.status_code, shown
    assert ordered(ours.text) == ordered(theirs.text), shown
    if "attributes" not in query:  # JSONB's own text keeps PostgreSQL's spacing
        assert ours.content == theirs.content, shown
    path: str = ours.headers.get("x-catalog-path", "none")
    if path == "none" and os.environ.get("COMPILED_EQUIVALENCE_REASONS"):
        print("not executed:", ours.text[:300])
    return path


async def cursors_of(gql: GraphQLClient) -> list[str]:
    """Valid cursors of each sort (and one forged), for `after`."""
    found = ["bm90IGEgY3Vyc29y"]
    for sort in ("CREATED_AT", "PRICE", "NAME", "RATING"):
        for direction in ("ASC", "DESC"):
            data = await gql.data(
                f"{{ products(first: 4, sort: {{field: {sort}, direction: {direction}}}) "
                "{ edges { cursor } } }"
            )
            found += [edge["cursor"] for edge in data["products"]["edges"][1:3]]
    return found


async def pool_of(gql: GraphQLClient, services: Services, catalog: Catalog) -> Pool:
    """Cursors of every order the generator asks for (search pages of both modes, reviews,
    categories) and ids of every kind: each type, hidden rows, unknown and foreign types,
    keys that are no integer, garbage."""
    search_cursors: list[str] = []
    for search in ("mouse", "wirless", "stand", "cable"):
        for sort in ("RELEVANCE", "NAME", "PRICE"):
            data = await gql.data(
                f'{{ products(first: 3, filter: {{search: "{search}"}}, sort: {{field: {sort}}})'
                " { edges { cursor } } }"
            )
            search_cursors += [edge["cursor"] for edge in data["products"]["edges"][1:]]
    review_cursors: list[str] = ["bm90IGEgY3Vyc29y"]
    for arguments in ("", ", sort: VERIFIED_FIRST", ", verifiedOnly: true"):
        data = await gql.data(
            f'{{ product(slug: "product-1") {{ reviews(first: 3{arguments})'
            " { edges { cursor } } } }"
        )
        review_cursors += [edge["cursor"] for edge in data["product"]["reviews"]["edges"][1:]]
    data = await gql.data("{ categories(first: 6) { edges { cursor } } }")
    category_cursors = [edge["cursor"] for edge in data["categories"]["edges"][1:]]
    categories = [catalog.root, catalog.child, catalog.leaf, *catalog.extra]
    category_ids = [gid("Category", c.id) for c in categories] + [
        gid("Category", 999999),
        gid("Product", catalog.products[1].id),
        "bm90IGFuIGlk",
    ]
    async with services.sessions() as session:
        review_keys = (await session.execute(text("SELECT id FROM reviews ORDER BY id"))).scalars()
        reviews = [gid("Review", key) for key in list(review_keys)[:12]]
    node_ids = [
        *(gid("Product", p.id) for p in catalog.products[:10]),  # drafts and archived too
        *category_ids,
        *reviews,  # pending ones too
        gid("Review", 999999),
        gid("User", catalog.users[1].id),
        gid("Order", 1),
        gid("Nope", 1),
        gid("Product", "x"),
        gid("Product", "01"),
    ]
    return Pool(
        [],
        search_cursors=[*search_cursors, "~bm90IGEgY3Vyc29y"],
        review_cursors=review_cursors,
        category_cursors=[*category_cursors, "bm90IGEgY3Vyc29y"],
        category_ids=category_ids,
        node_ids=node_ids,
    )


@pytest.mark.parametrize("viewer", ["anonymous", "customer", "staff"])
async def test_generated_queries_answer_the_same(
    gql: GraphQLClient,
    services: Services,
    compiled_app: Starlette,
    executor: httpx.AsyncClient,
    viewer: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "catalog.compiler")
    catalog = await seed(services)
    token: str | None = None
    if viewer == "customer":
        token = await sign_in(services, catalog.users[1])  # the author of pending reviews
    elif viewer == "staff":
        _, token = await new_user(services, Role.STAFF)
    slugs = [p.slug for p in catalog.products] + ["no-such-product"]
    product_ids = [gid("Product", p.id) for p in catalog.products[:6]] + ["bm90IGFuIGlk"]
    cursors = await cursors_of(GraphQLClient(executor))
    pool = await pool_of(GraphQLClient(executor), services, catalog)
    pool.cursors = cursors
    rng = random.Random(f"{SEED}-{viewer}")
    paths: dict[str, int] = {}
    # Every statement the compiled app runs (it has its own engine): one per compiled answer.
    engine = compiled_app.state.services.sessions.kw["bind"].sync_engine
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    transport = httpx.ASGITransport(app=compiled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://compiled") as compiled:
        documents = [
            *README_QUERIES,
            *((q.query, dict[str, Any](q.variables)) for q in BENCH_QUERIES),
        ]
        for query, variables in documents:
            if variables and "slug" in variables:
                variables = {**variables, "slug": "product-1"}
            if variables and "search" in variables:
                variables = {**variables, "search": "mouse"}
            path = await compare(executor, compiled, query, variables, token, statements)
            paths[path] = paths.get(path, 0) + 1
        for _ in range(EXAMPLES):
            generator = Generator(rng, cursors, pool, viewer)
            generated, variables = generator.document(slugs, product_ids)
            path = await compare(executor, compiled, generated, variables, token, statements)
            paths[path] = paths.get(path, 0) + 1
    event.remove(engine, "before_cursor_execute", record)
    # A statement or a compilation that failed would have been answered by the executor:
    # equal, but a bug all the same.
    # (The compiler's own records: an asyncpg connection of an earlier test's app closing
    # late is logged by asyncio, and says nothing about this comparison.)
    failures = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("catalog.compiler")
    ]
    if failures and os.environ.get("COMPILED_EQUIVALENCE_REASONS"):
        print(str(failures[0].exc_info and failures[0].exc_info[1]))
    assert not failures, [(r.getMessage(), str(r.exc_info and r.exc_info[1])) for r in failures[:1]]
    if os.environ.get("COMPILED_EQUIVALENCE_REASONS"):
        reasons = Counter(r.getMessage().split(": ", 1)[-1] for r in caplog.records)
        print(viewer, paths, reasons.most_common(20))
    # The compiler answered a good share: the suite tests it, not only the fallback.
    assert paths.get("compiled", 0) >= (EXAMPLES + len(documents)) // 3, paths


SEARCH_PAGE = """query Search($search: String!, $after: String, $before: String,
    $first: Int, $last: Int) {
  products(filter: {search: $search}, first: $first, after: $after, last: $last,
      before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
  }
}"""


async def test_search_pages_compile_in_both_modes(
    gql: GraphQLClient,
    services: Services,
    compiled_app: Starlette,
    executor: httpx.AsyncClient,
) -> None:
    """The full-text pages and the typo fallback's (marked "~"), walked forwards by their
    cursors and back, each compiled and equal to the executor's."""
    await seed(services)
    transport = httpx.ASGITransport(app=compiled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://compiled") as compiled:
        for search, trigram in (("mouse", False), ("wirless", True), ("laptop stnad", True)):

            async def page(**variables: Any) -> dict[str, Any]:
                variables = {"search": search, **variables}  # noqa: B023
                query = SEARCH_PAGE
                path = await compare(executor, compiled, query, variables, None)
                assert path == "compiled", variables
                response = await answer(compiled, query, variables, None)
                connection: dict[str, Any] = response.json()["data"]["products"]
                return connection

            first = await page(first=2)
            assert first["edges"], first
            assert all(e["cursor"].startswith("~") == trigram for e in first["edges"])
            second = await page(first=2, after=first["pageInfo"]["endCursor"])
            assert second["pageInfo"]["hasPreviousPage"]
            back = await page(last=2, before=second["pageInfo"]["startCursor"])
            assert back["edges"] == first["edges"]


async def test_a_compiled_query_is_one_statement(
    gql: GraphQLClient, services: Services, compiled_app: Starlette
) -> None:
    await seed(services)
    engine = compiled_app.state.services.sessions.kw["bind"].sync_engine
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    transport = httpx.ASGITransport(app=compiled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://compiled") as compiled:
        # Every bench query; the search both found by full text and by its typo fallback.
        search = next(q for q in BENCH_QUERIES if q.name == "search")
        runs = [*BENCH_QUERIES, replace(search, variables={"search": "wirless"})]
        # The one the compiler does not take is answered by the executor (no statement count).
        uncompiled = [q for q in BENCH_QUERIES if not q.compiled]
        assert [q.name for q in uncompiled] == ["uncompiled"]
        for query in uncompiled:
            response = await answer(compiled, query.query, dict(query.variables), None)
            assert response.headers["x-catalog-path"] == "executor", query.name
        runs = [q for q in runs if q.compiled]
        for query in runs:
            variables = dict(query.variables)
            if "slug" in variables:
                variables["slug"] = "product-1"
            if "search" in variables and variables["search"] != "wirless":
                variables["search"] = "mouse"
            await answer(compiled, query.query, variables, None)  # warm
            event.listen(engine, "before_cursor_execute", record)
            try:
                response = await answer(compiled, query.query, variables, None)
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert response.headers["x-catalog-path"] == "compiled", query.name
            assert len(statements) == 1, statements
            statements.clear()


async def test_the_path_header_is_off_in_production_by_default(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    assert not production.answer_path_header_enabled
    assert settings.answer_path_header_enabled  # development


def test_the_generator_is_deterministic() -> None:
    def make(seed: int) -> Callable[[], tuple[str, dict[str, Any]]]:
        rng = random.Random(seed)
        return lambda: Generator(rng, ["c"]).document(["s"], ["i"])

    first, second = make(1), make(1)
    assert [first() for _ in range(5)] == [second() for _ in range(5)]


async def test_the_response_size_limit_applies_alike(
    gql: GraphQLClient, services: Services, settings: Settings
) -> None:
    """Compiled JSON is PostgreSQL's, spaced: the limit still applies to the compact answer,
    so an answer just within the limit is given by both paths, one byte over by neither."""
    await seed(services)
    flat = next(q for q in BENCH_QUERIES if q.name == "flat").query
    # The compact size (the session's app may answer compiled, spaced).
    size = len(
        orjson.dumps(orjson.loads((await gql.http.post("/graphql", json={"query": flat})).content))
    )
    assert size > 1100
    for limit in (size - 1, size):
        answers = []
        for compiled in (False, True):
            async with running_app(
                settings,
                compiled_queries=compiled,
                answer_path_header=True,
                max_response_bytes=limit,
            ) as app:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
                    response = await answer(http, flat, None, None)
                    answers.append((response.headers["x-catalog-path"], ordered(response.text)))
        assert [path for path, _ in answers] == ["executor", "compiled"]
        assert answers[0][1] == answers[1][1], limit
