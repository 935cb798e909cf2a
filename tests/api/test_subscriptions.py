"""Subscriptions over real sockets: graphql-transport-ws against `catalog serve` processes on the
suite's PostgreSQL and Redis (and, for the outage, a Redis of the test's own).

Two API processes share one Redis: a subscriber on one sees what a mutation on the other did.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from app.devservices.ownership import disown
from app.devservices.redis import ensure_redis, stop_redis
from app.settings import Settings
from bench.servers import Server
from db.global_ids import decode_global_id
from db.users import Role
from resolvers.context import Services
from resolvers.users.tokens import TokenSigner
from tests.support.apps import catalog_servers, server_env
from tests.support.catalog import build_catalog, execute, new_user
from tests.support.graphql import GRAPHQL_RESPONSE
from tests.support.subscriptions import (
    PRODUCT_UPDATED,
    STAFF_PRODUCT_UPDATED,
    WsClient,
    open_ws,
)

CREATE = """
mutation ($input: CreateProductInput!) {
  createProduct(input: $input) { product { id } errors { code } }
}
"""
UPDATE = """
mutation ($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { product { id stock } errors { code } }
}
"""
EXPORT = """
mutation ($input: ExportProductsInput!) { exportProducts(input: $input) { id status } }
"""
JOB_UPDATED = """
subscription ($id: ID!) {
  jobUpdated(id: $id) { id status progress { done total percent } resultUrl }
}
"""
LIMITS = {
    "WS_INIT_TIMEOUT_SECONDS": "1",
    "WS_MAX_SUBSCRIPTIONS": "3",
    "WS_MAX_MESSAGE_BYTES": "4096",
}


@pytest.fixture(scope="module")
def apis(settings: Settings) -> Iterator[list[Server]]:
    """Two `catalog serve` processes, one Redis (the suite's)."""
    with tempfile.TemporaryDirectory(prefix="subs-") as name:
        directory = Path(name)
        with catalog_servers(
            ["api-0", "api-1"], server_env(settings, directory, **LIMITS), directory
        ) as s:
            yield s


@pytest.fixture
async def staff(client: httpx.AsyncClient, services: Services) -> str:
    """A staff access token (the database is emptied for each test by `client`)."""
    _user, token = await new_user(services, Role.STAFF)
    return token


async def post(server: Server, query: str, variables: dict[str, Any], token: str) -> Any:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            server.url + "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}", "accept": GRAPHQL_RESPONSE},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def create_product(server: Server, token: str, sku: str, status: str) -> str:
    data = await post(
        server,
        CREATE,
        {"input": {"name": sku, "sku": sku, "price": "10.00", "stock": 5, "status": status}},
        token,
    )
    assert data["createProduct"]["errors"] == []
    product_id: str = data["createProduct"]["product"]["id"]
    return product_id


async def set_stock(server: Server, token: str, product_id: str, stock: int) -> None:
    data = await post(server, UPDATE, {"id": product_id, "input": {"stock": stock}}, token)
    assert data["updateProduct"]["errors"] == []


async def next_product(ws: WsClient, operation_id: str = "1") -> dict[str, Any]:
    message = await ws.receive()
    assert message["type"] == "next" and message["id"] == operation_id, message
    product: dict[str, Any] = message["payload"]["data"]["productUpdated"]
    return product


@pytest.fixture
async def ws(apis: list[Server]) -> AsyncIterator[WsClient]:
    async with open_ws(apis[0]) as socket:
        yield WsClient(socket)


# -- Events -------------------------------------------------------------------------------------


async def test_a_mutation_in_another_process_reaches_the_subscriber(
    apis: list[Server], ws: WsClient, staff: str
) -> None:
    product_id = await create_product(apis[1], staff, "MUG-1", "PUBLISHED")
    assert (await ws.init())["type"] == "connection_ack"  # anonymous: a storefront
    await ws.subscribe("1", PRODUCT_UPDATED, {"ids": [product_id]})
    first = await next_product(ws)  # the current state first: no gap after a page's query
    assert (first["id"], first["inStock"]) == (product_id, True)

    await set_stock(apis[1], staff, product_id, 0)  # through the OTHER process

    changed = await next_product(ws)
    assert (changed["inStock"], changed["status"], changed["price"]["amount"]) == (
        False,
        "PUBLISHED",
        "10.00",
    )
    await post(apis[1], UPDATE, {"id": product_id, "input": {"price": "12.50"}}, staff)
    assert (await next_product(ws))["price"]["amount"] == "12.50"


async def test_drafts_are_not_leaked_to_the_public_but_staff_follow_them(
    apis: list[Server], ws: WsClient, staff: str
) -> None:
    published = await create_product(apis[1], staff, "PUB-1", "PUBLISHED")
    draft = await create_product(apis[1], staff, "DRAFT-1", "DRAFT")
    await ws.init()  # anonymous
    await ws.subscribe("1", PRODUCT_UPDATED, {"ids": [draft, published]})
    assert (await next_product(ws))["id"] == published  # the draft's state is not sent

    async with open_ws(apis[0]) as staff_socket:
        staff_ws = WsClient(staff_socket)
        await staff_ws.init(staff)
        await staff_ws.subscribe("s", STAFF_PRODUCT_UPDATED, {"ids": [draft]})
        assert (await next_product(staff_ws, "s"))["id"] == draft

        await set_stock(apis[1], staff, draft, 0)
        await set_stock(apis[1], staff, published, 0)

        assert (await next_product(staff_ws, "s"))["stock"] == 0
    # The public subscriber's next event is the published product's: the draft's came first.
    changed = await next_product(ws)
    assert (changed["id"], changed["inStock"]) == (published, False)


async def test_only_what_the_subscriber_sees_changing_is_sent(
    apis: list[Server], ws: WsClient, staff: str
) -> None:
    product_id = await create_product(apis[1], staff, "GONE-1", "PUBLISHED")
    other = await create_product(apis[1], staff, "STAY-1", "PUBLISHED")
    await ws.init()
    await ws.subscribe("1", PRODUCT_UPDATED, {"ids": [product_id, other]})
    await next_product(ws)
    await next_product(ws)

    # Not sent: a new name, a stock count still above zero (the public sees `inStock`), and
    # anything about a product once it is no longer published.
    await post(apis[1], UPDATE, {"id": other, "input": {"name": "Renamed", "stock": 4}}, staff)
    await post(apis[1], UPDATE, {"id": product_id, "input": {"status": "DRAFT"}}, staff)
    await set_stock(apis[1], staff, product_id, 0)
    await set_stock(apis[1], staff, other, 0)

    changed = await next_product(ws)
    assert (changed["id"], changed["inStock"]) == (other, False)


# -- Jobs -------------------------------------------------------------------------------------


async def test_a_job_running_in_the_worker_streams_its_changes_to_staff(
    apis: list[Server],
    ws: WsClient,
    staff: str,
    services: Services,
    run_worker: Callable[[], Awaitable[int]],
) -> None:
    await build_catalog(services, products=12, reviews_per_product=0)
    export = await post(apis[1], EXPORT, {"input": {"format": "CSV"}}, staff)
    job_id = export["exportProducts"]["id"]
    await ws.init(staff)
    await ws.subscribe("job", JOB_UPDATED, {"id": job_id})
    first = (await ws.receive())["payload"]["data"]["jobUpdated"]
    assert (first["id"], first["status"]) == (job_id, "QUEUED")

    assert await run_worker() == 1  # the real arq worker, in another task, on the same Redis

    seen = [first]
    while seen[-1]["status"] != "SUCCEEDED":
        message = await ws.receive()
        assert message["type"] == "next", message
        seen.append(message["payload"]["data"]["jobUpdated"])
    # Every state in order (changes that came faster than the client read them arrive as
    # their latest state), progress included, until the final one.
    order = ["QUEUED", "RUNNING", "SUCCEEDED"]
    steps = [order.index(state["status"]) for state in seen]
    assert steps == sorted(steps)
    done = [state["progress"]["done"] for state in seen]
    assert done == sorted(done)
    assert seen[-1]["progress"] == {"done": 12, "total": 12, "percent": 100.0}
    assert seen[-1]["resultUrl"]


async def test_jobs_are_not_streamed_to_customers(
    apis: list[Server], ws: WsClient, staff: str, services: Services
) -> None:
    export = await post(apis[1], EXPORT, {"input": {"format": "CSV"}}, staff)
    _user, customer = await new_user(services)
    await ws.init(customer)
    await ws.subscribe("job", JOB_UPDATED, {"id": export["exportProducts"]["id"]})
    refused = await ws.receive()
    assert (refused["type"], refused["payload"]["data"]) == ("next", {"jobUpdated": None})
    assert await ws.receive() == {"id": "job", "type": "complete"}


# -- The protocol -------------------------------------------------------------------------------


async def test_a_refused_token_closes_with_4403(ws: WsClient, client: httpx.AsyncClient) -> None:
    await ws.send({"type": "connection_init", "payload": {"authorization": "Bearer forged"}})
    code, reason = await ws.closed()
    assert code == 4403 and "invalid" in reason


async def test_no_connection_init_closes_with_4408(ws: WsClient) -> None:
    assert (await ws.closed())[0] == 4408


async def test_a_second_connection_init_closes_with_4429(ws: WsClient) -> None:
    await ws.init()
    await ws.send({"type": "connection_init"})
    assert (await ws.closed())[0] == 4429


async def test_subscribing_before_the_acknowledgement_closes_with_4401(ws: WsClient) -> None:
    await ws.subscribe("1", PRODUCT_UPDATED, {"ids": []})
    assert (await ws.closed())[0] == 4401


async def test_a_subscription_id_in_use_closes_with_4409(
    ws: WsClient, client: httpx.AsyncClient
) -> None:
    await ws.init()
    long_id = "same-" + "x" * 200  # named in the close frame's reason, which has 123 bytes
    await ws.subscribe(long_id, PRODUCT_UPDATED, {"ids": []})
    await ws.subscribe(long_id, PRODUCT_UPDATED, {"ids": []})
    code, reason = await ws.closed()
    assert code == 4409 and "same-xxx" in reason


async def test_too_many_subscriptions_close_with_4429(
    ws: WsClient, client: httpx.AsyncClient
) -> None:
    await ws.init()
    for number in range(4):  # WS_MAX_SUBSCRIPTIONS=3
        await ws.subscribe(str(number), PRODUCT_UPDATED, {"ids": []})
    code, reason = await ws.closed()
    assert code == 4429 and "at most 3" in reason


async def test_a_message_over_the_size_limit_closes_with_1009(ws: WsClient) -> None:
    await ws.init()
    await ws.subscribe("1", PRODUCT_UPDATED, {"ids": ["x" * 5000]})  # WS_MAX_MESSAGE_BYTES=4096
    assert (await ws.closed())[0] == 1009


async def test_malformed_messages_close_with_4400(ws: WsClient) -> None:
    await ws.socket.send("[1, 2]")
    assert (await ws.closed())[0] == 4400


async def test_documents_meet_the_http_limits_and_only_subscriptions_run(
    ws: WsClient, client: httpx.AsyncClient
) -> None:
    await ws.init()
    deep = "subscription { productUpdated(ids: []) { " + "category { parent { " * 6 + "id"
    deep += " } }" * 6 + " } }"
    await ws.subscribe("deep", deep)
    refused = await ws.receive()
    assert refused["type"] == "error" and refused["id"] == "deep"
    assert refused["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in refused["payload"][0]["message"]

    await ws.subscribe("q", "{ me { id } }")
    query = await ws.receive()
    assert query["type"] == "error" and query["id"] == "q", query

    await ws.subscribe("bad", PRODUCT_UPDATED, {"ids": ["not an id"]})
    bad = await ws.receive()
    assert bad["type"] == "error" and bad["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_page_of_another_origin_is_refused_at_the_handshake(
    apis: list[Server],
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(apis[0], origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    # The development default allows local pages on any port.
    async with open_ws(apis[0], origin="http://localhost:5173") as socket:
        assert (await WsClient(socket).init())["type"] == "connection_ack"


async def test_an_expired_access_token_ends_the_connection_with_4401(
    ws: WsClient, services: Services, staff: str
) -> None:
    claims = services.signer.verify(staff)
    signer: TokenSigner = services.signer
    # A token of the same session that expires five seconds from now (time to connect on a
    # loaded machine: an expired one would be refused, 4403).
    now = datetime.now(UTC) - signer.lifetime + timedelta(seconds=5)
    short = signer.issue(claims.user_id, claims.session_id, now=now)
    assert (await ws.init(short))["type"] == "connection_ack"
    await ws.subscribe("1", PRODUCT_UPDATED, {"ids": []})
    code, reason = await ws.closed()
    assert code == 4401 and "expired" in reason


# -- Redis going away ---------------------------------------------------------------------------


@pytest.fixture
def own_redis(settings: Settings) -> Iterator[tuple[Path, list[Server]]]:
    """An API process on a Redis of this test's own, which the test stops and restarts."""
    with tempfile.TemporaryDirectory(prefix="subs-redis-") as name:
        directory = Path(name)
        port = ensure_redis(directory)
        env = server_env(settings, directory, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        try:
            with catalog_servers(["api-own-redis"], env, directory) as servers:
                yield directory, servers
        finally:
            stop_redis(directory / "redis")
            disown(directory)


async def test_after_redis_comes_back_the_subscriber_gets_the_current_state(
    own_redis: tuple[Path, list[Server]], services: Services, staff: str
) -> None:
    directory, (server,) = own_redis
    product_id = await create_product(server, staff, "OUT-1", "PUBLISHED")
    async with open_ws(server) as socket:
        ws = WsClient(socket)
        await ws.init()
        await ws.subscribe("1", PRODUCT_UPDATED, {"ids": [product_id]})
        assert (await next_product(ws))["inStock"] is True

        stop_redis(directory / "redis")
        # A change while Redis is away: its announcement is lost.
        await execute(services, "UPDATE products SET stock = 0 WHERE id = :id", id=key(product_id))
        await asyncio.sleep(0.5)
        ensure_redis(directory)  # same port

        assert (await next_product(ws))["inStock"] is False


def key(product_id: str) -> int:
    decoded = decode_global_id(product_id)
    assert decoded is not None
    return int(decoded[1])


# -- Production ---------------------------------------------------------------------------------


@pytest.fixture
def production_api(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    env = server_env(settings, tmp_path, ENVIRONMENT="production", MAIL_TRANSPORT="outbox")
    with catalog_servers(["api-production"], env, tmp_path) as (server,):
        yield server


async def test_production_keeps_suggestions_for_staff_as_over_http(
    production_api: Server, staff: str
) -> None:
    misspelt = "subscription ($ids: [ID!]!) { productUpdated(ids: $ids) { nam } }"
    messages = []
    for token in (None, staff):
        async with open_ws(production_api) as socket:
            ws = WsClient(socket)
            await ws.init(token)
            await ws.subscribe("1", misspelt, {"ids": []})
            refused = await ws.receive()
            assert refused["type"] == "error"
            messages.append(refused["payload"][0]["message"])
    public, for_staff = messages
    assert public == "Cannot query field 'nam' on type 'Product'."
    assert "Did you mean 'name'?" in for_staff


async def test_an_allowlist_holds_over_websocket_too(
    settings: Settings, tmp_path: Path, staff: str
) -> None:
    env = server_env(settings, tmp_path, PERSISTED_QUERIES="allowlist")
    with catalog_servers(["api-allowlist"], env, tmp_path) as (server,):
        product_id = await create_product(server, staff, "ALLOW-1", "PUBLISHED")
        answers = []
        for token in (None, staff):
            async with open_ws(server) as socket:
                ws = WsClient(socket)
                await ws.init(token)
                await ws.subscribe("1", PRODUCT_UPDATED, {"ids": [product_id]})
                answers.append(await ws.receive())
    refused, for_staff = answers
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
    # Staff may send any document, as over HTTP.
    assert for_staff["payload"]["data"]["productUpdated"]["id"] == product_id


async def test_connections_over_the_process_limit_are_told_to_come_back_later(
    settings: Settings, tmp_path: Path
) -> None:
    env = server_env(settings, tmp_path, WS_MAX_CONNECTIONS="1")
    with catalog_servers(["api-one-connection"], env, tmp_path) as (server,):
        async with open_ws(server) as first:
            assert (await WsClient(first).init())["type"] == "connection_ack"
            async with open_ws(server) as second:
                code, reason = await WsClient(second).closed()
    assert (code, reason) == (1013, "Too many connections: try again later")


async def test_another_subprotocol_closes_with_4406(apis: list[Server]) -> None:
    # `graphql-ws` is the older subscriptions-transport-ws protocol, which this server does
    # not speak.
    async with open_ws(apis[0], subprotocol="graphql-ws") as socket:
        code, reason = await WsClient(socket).closed()
    assert code == 4406 and "graphql-transport-ws" in reason
