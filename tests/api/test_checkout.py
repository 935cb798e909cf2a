"""placeOrder over HTTP: totals, snapshots, the emptied cart, the email, idempotency, refusals,
and a transaction aborted after allocation leaving stock untouched."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, print_ast, validate
from redis.asyncio import Redis
from sqlalchemy import text

from app.main import create_app
from app.settings import PROJECT_ROOT, Settings
from db.catalog import ProductStatus
from resolvers.context import Services
from resolvers.orders import checkout
from schema.root import schema
from tests.support.catalog import execute, new_user
from tests.support.graphql import GraphQLClient
from tests.support.orders import (
    ADDRESS,
    CART,
    PLACE,
    add,
    count_rows,
    customer,
    new_product,
    place,
    stock_of,
)
from workers.events import PRODUCTS_CHANNEL, decode_ids
from workers.outbox import send_email_job_id


async def test_checkout_places_an_order_with_exact_totals(
    gql: GraphQLClient, services: Services
) -> None:
    ann = await customer(gql, services)
    mug = await new_product(services, stock=5, price="19.99", name="Mug")
    pen = await new_product(services, stock=5, price="0.10", name="Pen")
    await add(ann, mug, 2)
    await add(ann, pen, 3)
    payload = await place(ann, note="Leave at the door")
    assert payload["errors"] == []
    order = payload["order"]
    assert order["status"] == "PLACED"
    assert order["number"] >= 1000
    assert order["subtotal"] == {"amount": "40.28", "currency": "USD"}
    assert order["shipping"] == {"amount": "4.90"}
    assert order["total"] == {"amount": "45.18"}
    assert order["note"] == "Leave at the door"
    assert order["shippingAddress"]["country"] == "US"
    lines = sorted(
        (line["name"], line["quantity"], line["lineTotal"]["amount"]) for line in order["lines"]
    )
    assert lines == [("Mug", 2, "39.98"), ("Pen", 3, "0.30")]
    assert [event["type"] for event in order["events"]] == ["PLACED"]
    assert await stock_of(services, mug) == 3
    assert await stock_of(services, pen) == 2
    cart = (await ann.data(CART))["cart"]
    assert cart["lines"] == [] and cart["itemCount"] == 0 and cart["subtotal"] is None
    async with services.sessions() as session:
        subject = (
            await session.execute(
                text("SELECT subject FROM outbox_emails WHERE kind = 'order_placed'")
            )
        ).scalar_one()
    assert subject == f"Order {order['number']} confirmed"


async def test_lines_snapshot_the_price_and_shipping_is_free_over_the_threshold(
    gql: GraphQLClient, services: Services
) -> None:
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=5, price="50.00", name="Lamp")
    await add(ann, lamp)
    order = (await place(ann))["order"]
    assert order["shipping"] == {"amount": "0.00"}
    assert order["total"] == {"amount": "50.00"}
    await execute(
        services, "UPDATE products SET price = 99, name = 'Renamed' WHERE id = :id", id=lamp.id
    )
    lines_query = "query($id: ID!) { order(id: $id) { lines { name unitPrice { amount } } } }"
    again = await ann.data(lines_query, {"id": order["id"]})
    assert again["order"]["lines"] == [{"name": "Lamp", "unitPrice": {"amount": "50.00"}}]


async def test_the_same_key_returns_the_same_order(gql: GraphQLClient, services: Services) -> None:
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=5)
    await add(ann, lamp, 2)
    first = await place(ann, "key-1")
    again = await place(ann, "key-1")
    assert again["errors"] == []
    assert again["order"]["id"] == first["order"]["id"]
    assert await stock_of(services, lamp) == 3
    assert await count_rows(services, "orders") == 1
    # A new cart with the old key: refused; with a new key: a new order.
    await add(ann, lamp, 1)
    reused = await place(ann, "key-1")
    assert [e["code"] for e in reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert reused["order"] is None
    assert (await place(ann, "key-2"))["errors"] == []
    # Another customer's key space is their own.
    bob = await customer(gql, services)
    await add(bob, lamp, 1)
    assert (await place(bob, "key-1"))["errors"] == []


async def test_the_same_key_with_the_same_cart_again_returns_the_order(
    gql: GraphQLClient, services: Services
) -> None:
    """A client that refills the same cart and retries with its key gets its order back, not
    IDEMPOTENCY_KEY_REUSED: the key's hash (written by the checkout's SQL) is the cart's."""
    ann = await customer(gql, services)
    lamp, desk = await new_product(services, stock=9), await new_product(services, stock=9)
    for product, quantity in ((desk, 2), (lamp, 3)):
        await add(ann, product, quantity)
    first = await place(ann, "retry-key")
    assert first["errors"] == []
    async with services.sessions() as session:
        stored = (
            await session.execute(
                text("SELECT cart_hash FROM idempotency_keys WHERE key = 'retry-key'")
            )
        ).scalar_one()
    ids = sorted([(lamp.id, 3), (desk.id, 2)])
    assert stored == checkout.cart_hash([(0, product, quantity) for product, quantity in ids])
    for product, quantity in ((lamp, 3), (desk, 2)):
        await add(ann, product, quantity)
    again = await place(ann, "retry-key")
    assert again["errors"] == [] and again["order"]["id"] == first["order"]["id"]
    assert await count_rows(services, "orders") == 1
    assert (await stock_of(services, lamp), await stock_of(services, desk)) == (6, 7)


async def test_keys_expire_after_a_day(gql: GraphQLClient, services: Services) -> None:
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=5)
    await add(ann, lamp, 1)
    first = (await place(ann, "old"))["order"]
    await execute(services, "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    await add(ann, lamp, 2)
    second = await place(ann, "old")
    assert second["errors"] == []
    assert second["order"]["id"] != first["id"]
    assert await stock_of(services, lamp) == 2


async def test_refusals_write_nothing(gql: GraphQLClient, services: Services) -> None:
    ann = await customer(gql, services)
    assert [e["code"] for e in (await place(ann))["errors"]] == ["CART_EMPTY"]
    lamp = await new_product(services, stock=3, name="Lamp")
    pen = await new_product(services, stock=3, name="Pen")
    await add(ann, lamp, 3)
    await add(ann, pen, 1)
    await execute(services, "UPDATE products SET stock = 2 WHERE id = :id", id=lamp.id)
    refused = await place(ann, "k")
    assert refused["order"] is None
    [error] = refused["errors"]
    assert error["code"] == "INSUFFICIENT_STOCK" and "Lamp" in error["message"]
    assert await stock_of(services, pen) == 3  # allocated first, then rolled back
    await execute(
        services, "UPDATE products SET stock = 5, status = 'archived' WHERE id = :id", id=lamp.id
    )
    assert [e["code"] for e in (await place(ann, "k"))["errors"]] == ["PRODUCT_UNAVAILABLE"]
    assert await count_rows(services, "orders") == 0
    assert await count_rows(services, "idempotency_keys") == 0
    assert len((await ann.data(CART))["cart"]["lines"]) == 2
    # Bad input: typed errors for each field.
    bad = await ann.post(PLACE, {"key": "", "address": {**ADDRESS, "country": "USA", "city": " "}})
    fields = sorted(e["field"] for e in bad["data"]["placeOrder"]["errors"])
    assert fields == ["idempotencyKey", "shippingAddress.city", "shippingAddress.country"]


async def test_a_cart_that_keeps_changing_is_refused_with_nothing_written(
    gql: GraphQLClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No attempt left: as after attempts whose product snapshots all went stale.
    monkeypatch.setattr(checkout, "SNAPSHOT_ATTEMPTS", 0)
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=3, name="Lamp")
    await add(ann, lamp, 1)
    refused = await place(ann, "k")
    assert refused["order"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CART_CHANGED", "cart")]
    assert await count_rows(services, "orders") == 0
    assert await stock_of(services, lamp) == 3
    assert len((await ann.data(CART))["cart"]["lines"]) == 1


async def test_anonymous_and_deactivated_callers_are_unauthenticated(
    gql: GraphQLClient, services: Services
) -> None:
    body = await gql.post(PLACE, {"key": "k", "address": ADDRESS})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    ann = await customer(gql, services)
    await execute(services, "UPDATE users SET is_active = false")
    body = await ann.post(PLACE, {"key": "k", "address": ADDRESS})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_aborted_checkout_leaves_stock_untouched(
    gql: GraphQLClient, services: Services
) -> None:
    """The transaction fails after allocation (the outbox insert, the last write, is refused
    by a trigger): stock, cart and keys are as before, and the client sees no internals."""
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=4)
    await add(ann, lamp, 3)
    name = f"refuse_{secrets.token_hex(3)}"
    await execute(
        services,
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'outbox down'; END $$",
    )
    await execute(
        services,
        f"CREATE TRIGGER {name} BEFORE INSERT ON outbox_emails "
        f"FOR EACH ROW EXECUTE FUNCTION {name}()",
    )
    try:
        body = await ann.post(PLACE, {"key": "k", "address": ADDRESS})
    finally:
        await execute(services, f"DROP TRIGGER {name} ON outbox_emails")
        await execute(services, f"DROP FUNCTION {name}()")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "outbox" not in str(body)
    assert await stock_of(services, lamp) == 4
    assert await count_rows(services, "orders") == 0
    assert await count_rows(services, "idempotency_keys") == 0
    assert (await ann.data(CART))["cart"]["itemCount"] == 3
    retried = await place(ann, "k")
    assert retried["errors"] == [] and await stock_of(services, lamp) == 1


async def test_unpublished_products_cannot_be_bought(
    gql: GraphQLClient, services: Services
) -> None:
    staff = await customer(gql, services)
    draft = await new_product(services, status=ProductStatus.DRAFT)
    assert [e["code"] for e in (await add(staff, draft))["errors"]] == ["NOT_FOUND"]
    assert Decimal(draft.price) == Decimal("10.00")


def test_the_readme_walkthrough_matches_the_schema() -> None:
    """Every operation of README's "A checkout from GraphiQL" validates against the schema."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    start = readme.index("### A checkout from GraphiQL")
    [block] = re.findall(r"```graphql\n(.*?)```", readme[start:], re.DOTALL)[:1]
    operations = [
        definition
        for definition in parse(block).definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    assert len(operations) >= 9
    for operation in operations:
        document = parse(print_ast(operation))
        assert validate(schema._schema, document) == [], print_ast(operation)


async def test_after_commit_the_email_is_queued_and_the_stock_change_announced(
    gql: GraphQLClient, services: Services, redis: Redis
) -> None:
    ann = await customer(gql, services)
    lamp = await new_product(services, stock=3)
    await add(ann, lamp)
    listener = redis.pubsub()
    await listener.subscribe(PRODUCTS_CHANNEL)
    try:
        assert (await place(ann))["errors"] == []
        message = None
        for _ in range(50):
            message = await listener.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                break
    finally:
        await listener.aclose()  # type: ignore[no-untyped-call]
    assert message is not None and decode_ids(message["data"]) == [lamp.id]
    async with services.sessions() as session:
        email_id = (await session.execute(text("SELECT id FROM outbox_emails"))).scalar_one()
    assert await redis.exists(f"arq:job:{send_email_job_id(email_id)}")


async def test_the_worker_delivers_the_confirmation_email_queued_after_commit(
    gql: GraphQLClient, services: Services, run_worker: Callable[[], Awaitable[int]]
) -> None:
    """The job the checkout queues (with the stock event, one Redis round trip) is one the
    real arq worker runs."""
    ann = await customer(gql, services)
    await add(ann, await new_product(services, stock=3))
    assert (await place(ann))["errors"] == []
    assert await run_worker() == 1
    async with services.sessions() as session:
        status = (await session.execute(text("SELECT status FROM outbox_emails"))).scalar_one()
    assert status == "sent"


async def test_an_order_placed_during_a_redis_outage_keeps_its_email_for_the_sweep(
    settings: Settings, gql: GraphQLClient, services: Services
) -> None:
    """Redis away after the commit: the order stands, its email waits in the outbox (no job)
    for the worker's sweep."""
    _, token = await new_user(services)
    lamp = await new_product(services, stock=3)
    down = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"}))
    async with down.router.lifespan_context(down):
        transport = httpx.ASGITransport(app=down)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            client = GraphQLClient(http, token)
            assert (await add(client, lamp))["errors"] == []
            payload = await place(client)
    assert payload["errors"] == [] and payload["order"]["number"] >= 1000
    assert await stock_of(services, lamp) == 2
    async with services.sessions() as session:
        email_id, status = (
            await session.execute(text("SELECT id, status FROM outbox_emails"))
        ).one()
    assert status == "pending"
    assert not await services.redis.exists(f"arq:job:{send_email_job_id(email_id)}")
