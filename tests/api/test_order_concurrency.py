"""The concurrency cases of the orders issue, over HTTP against real PostgreSQL: many requests
at once through the ASGI client (asyncio.gather), each customer with a token of their own."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from db.users import Role
from resolvers.context import Services
from resolvers.orders.checkout import Allocated, allocate
from tests.support.database import StatementCounter
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


async def test_the_product_rows_are_locked_last_in_one_statement(
    gql: GraphQLClient, services: Services, count_statements: StatementCounter
) -> None:
    """A hot product's row lock is held only from the allocation to the COMMIT: every write
    of the checkout comes before it, and a cart of several lines is allocated at once."""
    ann = await customer(gql, services)
    lamp, desk = await new_product(services, stock=5), await new_product(services, stock=5)
    await add(ann, desk, 2)
    await add(ann, lamp, 1)
    count_statements.statements.clear()
    assert (await place(ann))["errors"] == []
    writes = [
        " ".join(s.split()).upper()
        for s in count_statements.statements
        if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "WITH"))
    ]
    locking = [index for index, s in enumerate(writes) if "FROM PRODUCTS" in s]
    assert locking == [len(writes) - 1], writes
    assert (await stock_of(services, lamp), await stock_of(services, desk)) == (4, 3)


async def test_a_stale_product_snapshot_is_never_allocated(services: Services) -> None:
    """The allocation takes stock only for products still as the order lines snapshot them:
    a price changed since is not sold at the old one (the checkout then starts again)."""
    lamp = await new_product(services, stock=5, price="10.00")
    stale = Allocated(lamp.id, lamp.sku, lamp.name, Decimal("9.00"), "USD", 1)
    fresh = Allocated(lamp.id, lamp.sku, lamp.name, Decimal("10.00"), "USD", 1)
    async with services.sessions() as session:
        assert not await allocate(session, [stale])
        await session.rollback()
        assert await allocate(session, [fresh])
        await session.commit()
    assert await stock_of(services, lamp) == 4
