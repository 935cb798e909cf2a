"""The id policy (README, "Ids"), the same for every field that takes an id:

- not a global id at all: a top-level BAD_USER_INPUT error, nothing read or written;
- a global id of another type, or of the right type naming nothing the caller may see:
  NOT_FOUND in a mutation's payload (with the argument as its field), null from a query, no
  rows from a filter.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from db.base import Base
from resolvers.context import Services
from tests.support.graphql import GraphQLClient, SignUp

MALFORMED = ["not an id!", "%%%", base64.urlsafe_b64encode(b"no colon").decode(), "été"]


def gid(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


@dataclass(frozen=True)
class World:
    admin: GraphQLClient
    staff: GraphQLClient
    customer: GraphQLClient
    category: str
    product: str
    review: str


@pytest.fixture
async def world(gql: GraphQLClient, sign_up: SignUp) -> World:
    admin = gql.as_user((await sign_up(role="admin")).access_token)
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    customer = gql.as_user((await sign_up()).access_token)
    category = (
        await staff.data('mutation { createCategory(input: {name: "Lamps"}) { category { id } } }')
    )["createCategory"]["category"]["id"]
    product = (
        await staff.data(
            'mutation($c: ID!) { createProduct(input: {name: "Lamp", sku: "L-1", price: "9",'
            " status: PUBLISHED, categoryId: $c}) { product { id } } }",
            {"c": category},
        )
    )["createProduct"]["product"]["id"]
    review = (
        await customer.data(
            'mutation($p: ID!) { addReview(input: {productId: $p, rating: 4, title: "Fine"}) '
            "{ review { id } } }",
            {"p": product},
        )
    )["addReview"]["review"]["id"]
    return World(admin, staff, customer, category, product, review)


@dataclass(frozen=True)
class Case:
    """A mutation taking an id: who calls it, and where the id under test goes."""

    name: str
    caller: str
    document: str
    field: str  # the UserError field that names the argument
    id_type: str  # the type the argument must name
    variables: dict[str, str]  # other arguments, by World attribute

    def run_variables(self, world: World, the_id: str) -> dict[str, Any]:
        return {"id": the_id, **{k: getattr(world, v) for k, v in self.variables.items()}}


PAYLOAD = "{ errors { field code } }"
CASES = [
    Case("updateCategory", "staff", 'updateCategory(id: $id, input: {name: "x"})', "id",
         "Category", {}),
    Case("moveCategory", "staff", "moveCategory(id: $id)", "id", "Category", {}),
    Case("moveCategory.parentId", "staff", "moveCategory(id: $other, parentId: $id)",
         "parentId", "Category", {"other": "category"}),
    Case("deleteCategory", "staff", "deleteCategory(id: $id)", "id", "Category", {}),
    Case("createCategory.parentId", "staff",
         'createCategory(input: {name: "x", parentId: $id})', "parentId", "Category", {}),
    Case("createProduct.categoryId", "staff",
         'createProduct(input: {name: "x", sku: "X-1", price: "1", categoryId: $id})',
         "categoryId", "Category", {}),
    Case("updateProduct", "staff", 'updateProduct(id: $id, input: {name: "x"})', "id",
         "Product", {}),
    Case("updateProduct.categoryId", "staff",
         "updateProduct(id: $other, input: {categoryId: $id})", "categoryId", "Category",
         {"other": "product"}),
    Case("archiveProduct", "staff", "archiveProduct(id: $id)", "id", "Product", {}),
    Case("deleteProduct", "staff", "deleteProduct(id: $id)", "id", "Product", {}),
    Case("addReview.productId", "customer",
         'addReview(input: {productId: $id, rating: 5, title: "x"})', "productId", "Product", {}),
    Case("updateMyReview", "customer", "updateMyReview(id: $id, input: {rating: 1})", "id",
         "Review", {}),
    Case("deleteReview", "customer", "deleteReview(id: $id)", "id", "Review", {}),
    Case("moderateReview", "staff", "moderateReview(id: $id, status: APPROVED)", "id",
         "Review", {}),
    Case("revokeSession", "customer", "revokeSession(id: $id)", "id", "Session", {}),
    Case("setUserRole", "admin", "setUserRole(id: $id, role: STAFF)", "id", "User", {}),
    Case("deactivateUser", "admin", "deactivateUser(id: $id)", "id", "User", {}),
    Case("activateUser", "admin", "activateUser(id: $id)", "id", "User", {}),
    Case("addToCart.productId", "customer", "addToCart(input: {productId: $id, quantity: 1})",
         "productId", "Product", {}),
    Case("updateCartLine", "customer", "updateCartLine(input: {lineId: $id, quantity: 2})",
         "lineId", "CartLine", {}),
    Case("removeCartLine", "customer", "removeCartLine(lineId: $id)", "lineId", "CartLine", {}),
    Case("cancelMyOrder", "customer", "cancelMyOrder(id: $id)", "id", "Order", {}),
    Case("markOrderPaid", "staff", "markOrderPaid(id: $id)", "id", "Order", {}),
    Case("fulfillOrder", "staff", 'fulfillOrder(input: {id: $id, trackingNumber: "T"})', "id",
         "Order", {}),
    Case("cancelOrder", "staff", "cancelOrder(input: {id: $id})", "id", "Order", {}),
]  # fmt: skip


def document(case: Case) -> str:
    declared = ", ".join(f"${name}: ID!" for name in ("id", *case.variables))
    return f"mutation({declared}) {{ result: {case.document} {PAYLOAD} }}"


async def snapshot(services: Services) -> dict[str, str]:
    """Every table's rows, as text: a write anywhere changes it."""
    tables: dict[str, str] = {}
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = "coalesce(string_agg(t::text, '|' ORDER BY t::text), '')"
            statement = f'SELECT {rows} FROM "{table.name}" t'
            tables[table.name] = (await session.execute(text(statement))).scalar_one()
    return tables


def unknown_of(type_name: str) -> str:
    return gid(
        type_name, "00000000-0000-0000-0000-000000000000" if type_name == "Session" else 999_999
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_every_mutation_applies_the_id_policy(
    world: World, services: Services, case: Case
) -> None:
    caller: GraphQLClient = getattr(world, case.caller)
    before = await snapshot(services)
    for malformed in MALFORMED:
        body = await caller.post(document(case), case.run_variables(world, malformed))
        assert body["data"] is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "is not a valid id" in error["message"]
    other_type = "Widget" if case.id_type != "Product" else "Category"
    for not_found in (gid(other_type, 1), unknown_of(case.id_type), gid(case.id_type, "abc")):
        body = await caller.post(document(case), case.run_variables(world, not_found))
        assert "errors" not in body, body
        assert body["data"]["result"]["errors"] == [{"field": case.field, "code": "NOT_FOUND"}], (
            not_found,
            body,
        )
    assert await snapshot(services) == before


QUERIES = [
    ("node", "query($id: ID!) { result: node(id: $id) { id } }"),
    ("nodes", "query($id: ID!) { result: nodes(ids: [$id]) { id } }"),
    ("product", "query($id: ID!) { result: product(id: $id) { id } }"),
    ("category", "query($id: ID!) { result: category(id: $id) { id } }"),
    ("user", "query($id: ID!) { result: user(id: $id) { id } }"),
    ("order", "query($id: ID!) { result: order(id: $id) { id } }"),
    ("categories.parentId",
     "query($id: ID!) { result: categories(parentId: $id) { edges { node { id } } } }"),
    ("products.categoryId",
     "query($id: ID!) { result: products(filter: {categoryId: $id}) { edges { node { id } } } }"),
]  # fmt: skip
EMPTY: dict[str, Any] = {
    "node": None,
    "nodes": [None],
    "product": None,
    "category": None,
    "user": None,
    "order": None,
    "categories.parentId": {"edges": []},
    "products.categoryId": {"edges": []},
}


@pytest.mark.parametrize(("name", "query"), QUERIES, ids=[name for name, _ in QUERIES])
async def test_every_query_applies_the_id_policy(world: World, name: str, query: str) -> None:
    for malformed in MALFORMED:
        body = await world.admin.post(query, {"id": malformed})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    for not_found in (gid("Widget", 1), gid("Category", 999_999), gid("Review", 999_999)):
        data = await world.admin.data(query, {"id": not_found})
        assert data["result"] == EMPTY[name], (not_found, data)
