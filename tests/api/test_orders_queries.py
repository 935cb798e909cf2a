"""Reading orders over HTTP: myOrders and staff orders (filters, sorts, constant SQL per page),
order(id) visibility, lowStock, and reviews marked as verified purchases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from db.orders import Order, OrderEvent, OrderLine, OrderStatus
from db.users import Role, User
from resolvers.context import Services
from tests.support.catalog import execute, gid, new_user
from tests.support.database import StatementCounter, count_for
from tests.support.graphql import GraphQLClient
from tests.support.orders import FULFILL, PAID, buy, customer, new_product

MY_ORDERS = """
query($first: Int, $after: String) {
  myOrders(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id number status total { amount }
      lines { name quantity product { name } }
      events { type actor { name } }
      customer { email } } }
  }
}"""
ORDERS = """
query($first: Int, $filter: OrderFilter, $sort: OrderSort) {
  orders(first: $first, filter: $filter, sort: $sort) {
    edges { node { number status total { amount } customer { email } lines { sku } } }
  }
}"""
ORDER = "query($id: ID!) { order(id: $id) { number customer { email } } }"
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)


async def write_orders(services: Services, owner: User, count: int, **fields: Any) -> list[int]:
    """`count` orders of two lines each (products 1 and 2 of the test), an hour apart."""
    products = [await new_product(services, name=f"Item {i}") for i in range(2)]
    ids = []
    async with services.sessions() as session:
        for index in range(count):
            total = Decimal(10 + index)
            order = Order(
                customer_id=owner.id,
                currency="USD",
                subtotal=total,
                shipping=Decimal(0),
                total=total,
                shipping_address={},
                placed_at=EPOCH + timedelta(hours=index),
                **fields,
            )
            session.add(order)
            await session.flush()
            ids.append(order.id)
            for product in products:
                session.add(
                    OrderLine(
                        order_id=order.id,
                        product_id=product.id,
                        sku=product.sku,
                        name=product.name,
                        unit_price=Decimal(5),
                        currency="USD",
                        quantity=1,
                    )
                )
            session.add(OrderEvent(order_id=order.id, type=OrderStatus.PLACED, actor_id=owner.id))
        await session.commit()
    return ids


async def test_my_orders_pages_cost_the_same_statements_for_3_and_30(
    gql: GraphQLClient, services: Services, count_statements: StatementCounter
) -> None:
    user, token = await new_user(services)
    ann = gql.as_user(token)
    await write_orders(services, user, 35)
    small, small_data = await count_for(ann, count_statements, MY_ORDERS, {"first": 3})
    large, large_data = await count_for(ann, count_statements, MY_ORDERS, {"first": 30})
    assert len(small_data["myOrders"]["edges"]) == 3
    edges = large_data["myOrders"]["edges"]
    assert len(edges) == 30
    numbers = [edge["node"]["number"] for edge in edges]
    assert numbers == sorted(numbers, reverse=True)  # newest first
    node = edges[0]["node"]
    assert [line["product"]["name"] for line in node["lines"]] == ["Item 0", "Item 1"]
    assert node["events"] == [{"type": "PLACED", "actor": {"name": user.name}}]
    assert node["customer"] == {"email": user.email}
    assert small == large, count_statements.statements
    # The token, the page, then one each: lines, events, products, actors, customers.
    assert small <= 7, count_statements.statements
    after = large_data["myOrders"]["pageInfo"]["endCursor"]
    rest = (await ann.data(MY_ORDERS, {"first": 30, "after": after}))["myOrders"]
    assert len(rest["edges"]) == 5 and not rest["pageInfo"]["hasNextPage"]
    # Others see none of them.
    bob = await customer(gql, services)
    assert (await bob.data(MY_ORDERS))["myOrders"]["edges"] == []


async def test_staff_orders_filter_and_sort(
    gql: GraphQLClient, services: Services, count_statements: StatementCounter
) -> None:
    ann_user, _ = await new_user(services)
    bob_user, _ = await new_user(services)
    await write_orders(services, ann_user, 4)
    await write_orders(services, bob_user, 3, status=OrderStatus.PAID)
    staff = await customer(gql, services, Role.STAFF)

    async def totals(**variables: Any) -> list[str]:
        data = await staff.data(ORDERS, variables)
        return [edge["node"]["total"]["amount"] for edge in data["orders"]["edges"]]

    assert len(await totals()) == 7
    assert await totals(filter={"status": "PAID"}) == ["12.00", "11.00", "10.00"]
    by_email = {"customerEmail": ann_user.email.upper()}
    assert await totals(filter=by_email, sort={"field": "TOTAL", "descending": False}) == [
        "10.00",
        "11.00",
        "12.00",
        "13.00",
    ]
    window = {"placedFrom": EPOCH.isoformat(), "placedTo": (EPOCH + timedelta(hours=2)).isoformat()}
    assert sorted(await totals(filter=window)) == ["10.00", "10.00", "11.00", "11.00"]
    small, _ = await count_for(staff, count_statements, ORDERS, {"first": 2})
    large, _ = await count_for(staff, count_statements, ORDERS, {"first": 7})
    assert small == large, count_statements.statements
    ann = gql.as_user((await new_user(services))[1])
    body = await ann.post(ORDERS)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_order_is_seen_by_its_customer_and_staff_only(
    gql: GraphQLClient, services: Services
) -> None:
    ann = await customer(gql, services)
    lamp = await new_product(services)
    order = (await buy(ann, lamp))["order"]
    assert (await ann.data(ORDER, {"id": order["id"]}))["order"]["number"] == order["number"]
    staff = await customer(gql, services, Role.STAFF)
    assert (await staff.data(ORDER, {"id": order["id"]}))["order"]["number"] == order["number"]
    bob = await customer(gql, services)
    assert (await bob.data(ORDER, {"id": order["id"]}))["order"] is None
    assert (await gql.data(ORDER, {"id": order["id"]}))["order"] is None
    assert (await bob.data("query($id: ID!) { node(id: $id) { id } }", {"id": order["id"]})) == {
        "node": None
    }


async def test_low_stock_lists_the_emptiest_first(gql: GraphQLClient, services: Services) -> None:
    staff = await customer(gql, services, Role.STAFF)
    for stock in (7, 0, 3, 20):
        await new_product(services, stock=stock, name=f"Stock {stock}")
    query = "query($t: Int!) { lowStock(threshold: $t) { edges { node { name stock } } } }"
    data = await staff.data(query, {"t": 7})
    assert [edge["node"]["stock"] for edge in data["lowStock"]["edges"]] == [0, 3, 7]
    body = await staff.post(query, {"t": -1})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    ann = await customer(gql, services)
    assert (await ann.post(query, {"t": 1}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


REVIEWS = """
query($id: ID!, $verifiedOnly: Boolean, $sort: ReviewSort, $first: Int, $after: String) {
  product(id: $id) {
    reviews(first: $first, after: $after, verifiedOnly: $verifiedOnly, sort: $sort) {
      pageInfo { endCursor }
      edges { node { title verifiedPurchase } } } } }"""
ADD_REVIEW = """mutation($p: ID!, $t: String!) {
  addReview(input: {productId: $p, rating: 5, title: $t}) {
    review { verifiedPurchase } errors { code } } }"""


async def test_reviews_of_fulfilled_purchases_are_verified(
    gql: GraphQLClient, services: Services
) -> None:
    staff = await customer(gql, services, Role.STAFF)
    lamp = await new_product(services, stock=10)
    product_id = gid("Product", lamp.id)
    buyer, early, browser = [await customer(gql, services) for _ in range(3)]
    order = (await buy(buyer, lamp))["order"]["id"]
    early_order = (await buy(early, lamp))["order"]["id"]
    # Reviewed before fulfilment: verified when the order is fulfilled.
    added = await early.data(ADD_REVIEW, {"p": product_id, "t": "Early"})
    assert added["addReview"]["review"] == {"verifiedPurchase": False}
    for order_id in (order, early_order):
        await staff.data(PAID, {"id": order_id})
        await staff.data(FULFILL, {"id": order_id, "t": "T"})
    added = await buyer.data(ADD_REVIEW, {"p": product_id, "t": "Bought"})
    assert added["addReview"]["review"] == {"verifiedPurchase": True}
    await browser.data(ADD_REVIEW, {"p": product_id, "t": "Browsed"})
    await execute(
        services,
        "UPDATE reviews SET created_at = now() + interval '1 hour' WHERE title = 'Browsed'",
    )

    async def titles(**variables: Any) -> list[tuple[str, bool]]:
        data = await gql.data(REVIEWS, {"id": product_id, **variables})
        edges = data["product"]["reviews"]["edges"]
        return [(e["node"]["title"], e["node"]["verifiedPurchase"]) for e in edges]

    assert (await titles())[0] == ("Browsed", False)  # newest first
    assert await titles(verifiedOnly=True) == [("Bought", True), ("Early", True)]
    assert await titles(sort="VERIFIED_FIRST") == [
        ("Bought", True),
        ("Early", True),
        ("Browsed", False),
    ]
    first = await gql.data(REVIEWS, {"id": product_id, "sort": "VERIFIED_FIRST", "first": 2})
    after = first["product"]["reviews"]["pageInfo"]["endCursor"]
    assert await titles(sort="VERIFIED_FIRST", first=2, after=after) == [("Browsed", False)]
