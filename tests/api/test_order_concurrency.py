"""The concurrency cases of the orders issue, over HTTP against real PostgreSQL: many requests
at once through the ASGI client (asyncio.gather), each customer with a token of their own."""

from __future__ import annotations

import asyncio
from collections import Counter

from db.users import Role
from resolvers.context import Services
from tests.support.graphql import GraphQLClient
from tests.support.orders import (
    ADDRESS,
    CANCEL,
    FULFILL,
    PAID,
    PLACE,
    add,
    buy,
    buyers,
    count_rows,
    customer,
    fill_carts,
    new_product,
    place,
    stock_of,
)


async def test_fifty_buyers_of_ten_units_make_ten_orders(
    gql: GraphQLClient, services: Services
) -> None:
    lamp = await new_product(services, stock=10, name="Lamp")
    people = await buyers(gql, services, 50)
    await fill_carts(services, [(user_id, lamp.id, 1) for user_id, _ in people])
    bodies = await asyncio.gather(
        *(buyer.post(PLACE, {"key": "k", "address": ADDRESS}) for _, buyer in people)
    )
    assert all("errors" not in body for body in bodies), [b for b in bodies if "errors" in b][:1]
    payloads = [body["data"]["placeOrder"] for body in bodies]
    outcomes = Counter(
        "ok" if p["order"] else ",".join(e["code"] for e in p["errors"]) for p in payloads
    )
    assert outcomes == {"ok": 10, "INSUFFICIENT_STOCK": 40}
    assert await stock_of(services, lamp) == 0
    assert await count_rows(services, "orders") == 10


async def test_opposite_line_orders_never_deadlock(gql: GraphQLClient, services: Services) -> None:
    first = await new_product(services, stock=100)
    second = await new_product(services, stock=100)
    people = await buyers(gql, services, 20)
    lines = []
    for index, (user_id, _) in enumerate(people):
        pair = (first, second) if index % 2 else (second, first)
        lines += [(user_id, product.id, 3) for product in pair]
    await fill_carts(services, lines)
    payloads = await asyncio.gather(*(place(buyer) for _, buyer in people))
    assert all(p["errors"] == [] for p in payloads), payloads
    assert await stock_of(services, first) == 40
    assert await stock_of(services, second) == 40


async def test_the_same_key_in_parallel_makes_one_order(
    gql: GraphQLClient, services: Services
) -> None:
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=10)
    await add(ann, lamp, 2)
    payloads = await asyncio.gather(*(place(ann, "same") for _ in range(8)))
    assert all(p["errors"] == [] for p in payloads), payloads
    assert len({p["order"]["id"] for p in payloads}) == 1
    assert await count_rows(services, "orders") == 1
    assert await stock_of(services, lamp) == 8


async def test_cancel_racing_fulfil_and_cancel_has_one_winner(
    gql: GraphQLClient, services: Services
) -> None:
    staff = await customer(gql, services, Role.STAFF)
    lamp = await new_product(services, stock=10)
    people = await buyers(gql, services, 6)
    order_ids = [(await buy(buyer, lamp, 1))["order"]["id"] for _, buyer in people]
    assert await stock_of(services, lamp) == 4
    for order_id in order_ids:
        assert (await staff.data(PAID, {"id": order_id}))["markOrderPaid"]["errors"] == []
    restored = 0
    for index, order_id in enumerate(order_ids):
        racing = [staff.post(CANCEL, {"id": order_id, "r": "race"})]
        if index % 2:
            racing.append(staff.post(FULFILL, {"id": order_id, "t": "TRACK-1"}))
        else:
            racing.append(staff.post(CANCEL, {"id": order_id, "r": "again"}))
        bodies = await asyncio.gather(*racing)
        payloads = [next(iter(body["data"].values())) for body in bodies]
        winners = [p for p in payloads if p["errors"] == []]
        losers = [p for p in payloads if p["errors"]]
        assert len(winners) == 1 and len(losers) == 1, payloads
        assert losers[0]["errors"][0]["code"] == "ORDER_STATUS_CHANGED"
        restored += winners[0]["order"]["status"] == "CANCELLED"
    assert await stock_of(services, lamp) == 4 + restored
