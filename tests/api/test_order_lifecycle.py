"""Order status changes over HTTP: who may do what, events, emails, restocking exactly once."""

from __future__ import annotations

from sqlalchemy import text

from db.users import Role
from resolvers.context import Services
from tests.support.graphql import GraphQLClient
from tests.support.orders import (
    CANCEL,
    CANCEL_MINE,
    FULFILL,
    PAID,
    buy,
    customer,
    new_product,
    stock_of,
)

EVENTS = "query($id: ID!) { order(id: $id) { status events { type note actor { name } } } }"


async def email_kinds(services: Services) -> list[str]:
    async with services.sessions() as session:
        result = await session.execute(text("SELECT kind FROM outbox_emails ORDER BY id"))
        return list(result.scalars())


async def test_placed_paid_fulfilled(gql: GraphQLClient, services: Services) -> None:
    staff = await customer(gql, services, Role.STAFF)
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=3)
    order_id = (await buy(ann, lamp, 2))["order"]["id"]
    # Not yet paid: cannot be fulfilled.
    early = (await staff.data(FULFILL, {"id": order_id, "t": "T-1"}))["fulfillOrder"]
    assert early["errors"] == [{"field": "id", "code": "ORDER_STATUS_CHANGED"}]
    assert (await staff.data(PAID, {"id": order_id}))["markOrderPaid"]["order"] == {
        "status": "PAID"
    }
    again = (await staff.data(PAID, {"id": order_id}))["markOrderPaid"]
    assert again["errors"] == [{"field": "id", "code": "ORDER_STATUS_CHANGED"}]
    blank = (await staff.data(FULFILL, {"id": order_id, "t": "  "}))["fulfillOrder"]
    assert blank["errors"] == [{"field": "trackingNumber", "code": "INVALID_INPUT"}]
    done = (await staff.data(FULFILL, {"id": order_id, "t": "1Z999"}))["fulfillOrder"]
    assert done["order"] == {"status": "FULFILLED", "trackingNumber": "1Z999"}
    # Fulfilled orders are final.
    late = (await staff.data(CANCEL, {"id": order_id}))["cancelOrder"]
    assert [e["code"] for e in late["errors"]] == ["ORDER_STATUS_CHANGED"]
    order = (await ann.data(EVENTS, {"id": order_id}))["order"]
    assert [event["type"] for event in order["events"]] == ["PLACED", "PAID", "FULFILLED"]
    assert order["events"][1]["actor"] == {"name": "Some staff"}
    assert await stock_of(services, lamp) == 1
    assert await email_kinds(services) == ["order_placed", "order_paid", "order_fulfilled"]


async def test_cancellation_restocks_once(gql: GraphQLClient, services: Services) -> None:
    staff = await customer(gql, services, Role.STAFF)
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=5)
    order_id = (await buy(ann, lamp, 4))["order"]["id"]
    assert await stock_of(services, lamp) == 1
    await staff.data(PAID, {"id": order_id})
    cancelled = (await staff.data(CANCEL, {"id": order_id, "r": "Out of paint"}))["cancelOrder"]
    assert cancelled["order"] == {"status": "CANCELLED"}
    assert await stock_of(services, lamp) == 5
    twice = (await staff.data(CANCEL, {"id": order_id}))["cancelOrder"]
    assert [e["code"] for e in twice["errors"]] == ["ORDER_STATUS_CHANGED"]
    assert await stock_of(services, lamp) == 5
    events = (await ann.data(EVENTS, {"id": order_id}))["order"]["events"]
    assert events[-1]["type"] == "CANCELLED" and events[-1]["note"] == "Out of paint"
    assert (await email_kinds(services))[-1] == "order_cancelled"


async def test_customers_cancel_only_their_placed_orders(
    gql: GraphQLClient, services: Services
) -> None:
    staff = await customer(gql, services, Role.STAFF)
    ann = await customer(gql, services)
    bob = await customer(gql, services)
    lamp = await new_product(services, stock=5)
    first = (await buy(ann, lamp, 1))["order"]["id"]
    second = (await buy(ann, lamp, 1))["order"]["id"]
    others = (await bob.data(CANCEL_MINE, {"id": first}))["cancelMyOrder"]
    assert others["errors"] == [{"field": "id", "code": "NOT_FOUND"}]
    mine = (await ann.data(CANCEL_MINE, {"id": first}))["cancelMyOrder"]
    assert mine == {"order": {"status": "CANCELLED"}, "errors": []}
    await staff.data(PAID, {"id": second})
    paid = (await ann.data(CANCEL_MINE, {"id": second}))["cancelMyOrder"]
    assert paid["errors"] == [{"field": "id", "code": "ORDER_STATUS_CHANGED"}]
    assert await stock_of(services, lamp) == 4
    # Staff mutations are staff only.
    body = await ann.post(PAID, {"id": second})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
