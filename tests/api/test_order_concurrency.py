"""The concurrency cases of the orders issue, over HTTP against real PostgreSQL: many requests
at once through the ASGI client (asyncio.gather), each customer with a token of their own."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from db.users import Role
from resolvers.context import Services
from resolvers.orders import checkout
from tests.support.catalog import execute
from tests.support.database import StatementCounter
from tests.support.graphql import GraphQLClient
from tests.support.orders import (
    ADDRESS,
    CANCEL,
    CART,
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


async def test_the_product_rows_are_locked_last_and_released_by_the_same_message(
    gql: GraphQLClient,
    services: Services,
    engine: AsyncEngine,
    count_statements: StatementCounter,
) -> None:
    """A hot product's row lock is held only from the allocation to the COMMIT: every write
    of the checkout comes before it, a cart of several lines is allocated by one call, and
    that call is sent with the COMMIT (so the row is released without waiting for the app)."""
    ann = await customer(gql, services)
    lamp, desk = await new_product(services, stock=5), await new_product(services, stock=5)
    await add(ann, desk, 2)
    await add(ann, lamp, 1)

    # Prepared statements reach `count_statements` (SQLAlchemy's cursor events); messages sent
    # straight to asyncpg reach its query loggers. Both go to one list, in the order sent.
    def log(record: Any) -> None:
        count_statements.statements.append(record.query)

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.remove_query_logger(log)

    event.listen(engine.sync_engine, "checkout", on_checkout)
    event.listen(engine.sync_engine, "checkin", on_checkin)
    try:
        count_statements.statements.clear()
        assert (await place(ann))["errors"] == []
        await asyncio.sleep(0)  # query loggers are called soon after, not during, the query
    finally:
        event.remove(engine.sync_engine, "checkout", on_checkout)
        event.remove(engine.sync_engine, "checkin", on_checkin)
    writes = [
        " ".join(s.split()).upper()
        for s in count_statements.statements
        if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "WITH", "SELECT ALLOC"))
    ]
    locking = [
        index
        for index, s in enumerate(writes)
        if "FROM PRODUCTS" in s or "UPDATE PRODUCTS" in s or "ALLOCATE_ORDER" in s
    ]
    assert locking == [len(writes) - 1], writes
    assert writes[-1].startswith("SELECT ALLOCATE_ORDER(") and "; COMMIT;" in writes[-1]
    assert (await stock_of(services, lamp), await stock_of(services, desk)) == (4, 3)


CHANGES = {
    # What another session commits between the order's write and its allocation, and what
    # the checkout then answers.
    "price": ("UPDATE products SET price = 12.00 WHERE id = :id", None),
    "stock": ("UPDATE products SET stock = 1 WHERE id = :id", "INSUFFICIENT_STOCK"),
    "status": ("UPDATE products SET status = 'archived' WHERE id = :id", "PRODUCT_UNAVAILABLE"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_product_changed_before_its_allocation_is_never_sold_as_it_was(
    gql: GraphQLClient, services: Services, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """The allocation takes stock only for products still as the order lines snapshot them:
    a price changed since is not sold at the old one (the checkout starts again and sells at
    the new price); stock that ran short or a product taken off sale refuses the line, and
    nothing is written."""
    statement, code = CHANGES[change]
    ann = await customer(gql, services)
    pen = await new_product(services, stock=5, name="Pen")
    lamp = await new_product(services, stock=5, price="10.00", name="Lamp")
    await add(ann, pen, 1)
    await add(ann, lamp, 2)
    write_order = checkout._write_order
    changed: list[bool] = []

    async def write_then_change(*args: Any) -> Any:
        written = await write_order(*args)
        if not changed:  # once: the next attempt finds the product as it now is
            changed.append(True)
            await execute(services, statement, id=lamp.id)
        return written

    monkeypatch.setattr(checkout, "_write_order", write_then_change)
    payload = await place(ann)
    if code is None:
        assert payload["errors"] == []
        prices = {line["name"]: line["unitPrice"]["amount"] for line in payload["order"]["lines"]}
        assert prices == {"Pen": "10.00", "Lamp": "12.00"}
        assert (await stock_of(services, pen), await stock_of(services, lamp)) == (4, 3)
        assert await count_rows(services, "orders") == 1
        return
    [error] = payload["errors"]
    assert error["code"] == code and "Lamp" in error["message"], error
    assert error["field"] == "cart.lines.1"  # the lines in product id order: pen, then lamp
    if code == "INSUFFICIENT_STOCK":
        assert error["message"].startswith("Only 1 of")
    assert await stock_of(services, pen) == 5
    assert await count_rows(services, "orders") == 0
    assert await count_rows(services, "idempotency_keys") == 0
    assert len((await ann.data(CART))["cart"]["lines"]) == 2
