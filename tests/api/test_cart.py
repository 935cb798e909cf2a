"""The cart over HTTP: current prices, limits, one currency, problems reported (not dropped)."""

from __future__ import annotations

from typing import Any

from db.catalog import ProductStatus
from db.users import Role
from resolvers.context import Services
from resolvers.orders.input import MAX_CART_LINES
from tests.support.catalog import execute, gid
from tests.support.graphql import GraphQLClient
from tests.support.orders import CART, UPDATE_LINE, add, customer, new_product

REMOVE = "mutation($l: ID!) { removeCartLine(lineId: $l) { cart { itemCount } errors { code } } }"
CLEAR = "mutation { clearCart { cart { itemCount lines { id } } errors { code } } }"


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def test_a_cart_follows_the_customer_at_current_prices(
    gql: GraphQLClient, services: Services
) -> None:
    ann = await customer(gql, services)
    empty = (await ann.data(CART))["cart"]
    assert empty["lines"] == [] and empty["subtotal"] is None and empty["problems"] == []
    mug = await new_product(services, stock=10, price="3.50", name="Mug")
    assert codes(await add(ann, mug, 2)) == []
    cart = (await add(ann, mug, 1))["cart"]  # same product: one line
    assert [(line["quantity"], line["lineTotal"]["amount"]) for line in cart["lines"]] == [
        (3, "10.50")
    ]
    assert cart["itemCount"] == 3 and cart["subtotal"] == {"amount": "10.50", "currency": "USD"}
    assert cart["id"] == empty["id"]
    await execute(services, "UPDATE products SET price = 4 WHERE id = :id", id=mug.id)
    cart = (await ann.data(CART))["cart"]
    assert cart["lines"][0]["unitPrice"]["amount"] == "4.00"
    assert cart["subtotal"]["amount"] == "12.00"
    line_id = cart["lines"][0]["id"]
    updated = (await ann.data(UPDATE_LINE, {"l": line_id, "q": 1}))["updateCartLine"]
    assert updated["cart"]["itemCount"] == 1
    assert (await ann.data(REMOVE, {"l": line_id}))["removeCartLine"]["cart"]["itemCount"] == 0
    await add(ann, mug, 1)
    assert (await ann.data(CLEAR))["clearCart"]["cart"] == {"itemCount": 0, "lines": []}


async def test_limits_and_bad_quantities(gql: GraphQLClient, services: Services) -> None:
    ann = await customer(gql, services)
    mug = await new_product(services, stock=5, name="Mug")
    for quantity in (0, -1, 1000):
        assert codes(await add(ann, mug, quantity)) == ["QUANTITY_INVALID"]
    assert codes(await add(ann, mug, 6)) == ["INSUFFICIENT_STOCK"]
    await add(ann, mug, 5)
    line_id = (await ann.data(CART))["cart"]["lines"][0]["id"]
    bad = (await ann.data(UPDATE_LINE, {"l": line_id, "q": 1000}))["updateCartLine"]
    assert codes(bad) == ["QUANTITY_INVALID"]
    more = (await ann.data(UPDATE_LINE, {"l": line_id, "q": 6}))["updateCartLine"]
    assert codes(more) == ["INSUFFICIENT_STOCK"]
    euro = await new_product(services, currency="EUR")
    assert codes(await add(ann, euro)) == ["CURRENCY_MISMATCH"]
    draft = await new_product(services, status=ProductStatus.DRAFT)
    assert codes(await add(ann, draft)) == ["NOT_FOUND"]  # the public cannot see drafts
    staff = await customer(gql, services, Role.STAFF)
    assert codes(await add(staff, draft)) == ["PRODUCT_UNAVAILABLE"]
    # Someone else's line is not found.
    bob = await customer(gql, services)
    others = (await bob.data(UPDATE_LINE, {"l": line_id, "q": 1}))["updateCartLine"]
    assert codes(others) == ["NOT_FOUND"] and others["errors"][0]["field"] == "lineId"
    assert (await ann.data(CART))["cart"]["itemCount"] == 5


async def test_a_cart_holds_at_most_a_hundred_lines(gql: GraphQLClient, services: Services) -> None:
    ann = await customer(gql, services)
    products = [await new_product(services) for _ in range(MAX_CART_LINES + 1)]
    await execute(services, "INSERT INTO carts (customer_id) SELECT id FROM users")
    await execute(
        services,
        "INSERT INTO cart_lines (cart_id, product_id, quantity) "
        "SELECT (SELECT id FROM users), id, 1 FROM products WHERE id <> :last",
        last=products[-1].id,
    )
    assert codes(await add(ann, products[-1])) == ["CART_FULL"]
    assert codes(await add(ann, products[0])) == []  # an existing line may still grow


async def test_problems_are_reported_not_dropped(gql: GraphQLClient, services: Services) -> None:
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=5, name="Lamp")
    pen = await new_product(services, stock=5, name="Pen")
    await add(ann, lamp, 3)
    await add(ann, pen, 1)
    await execute(services, "UPDATE products SET stock = 2 WHERE id = :id", id=lamp.id)
    await execute(services, "UPDATE products SET status = 'archived' WHERE id = :id", id=pen.id)
    cart = (await ann.data(CART))["cart"]
    assert [(line["quantity"], line["available"]) for line in cart["lines"]] == [
        (3, False),
        (1, False),
    ]
    assert cart["lines"][1]["product"] is None  # archived: hidden from the public
    problems = {problem["lineId"]: problem["code"] for problem in cart["problems"]}
    assert problems == {
        cart["lines"][0]["id"]: "INSUFFICIENT_STOCK",
        cart["lines"][1]["id"]: "PRODUCT_UNAVAILABLE",
    }
    assert gid("CartLine", 1) == cart["lines"][0]["id"]


async def test_the_cart_is_for_signed_in_callers(gql: GraphQLClient) -> None:
    body = await gql.post(CART)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
