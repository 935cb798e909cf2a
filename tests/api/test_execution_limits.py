"""Limits on running an operation: the execution deadline stops the work for real (the request's
tasks, its dataloader batches and their PostgreSQL statements), and a response over the size
limit is refused whole, never truncated.

Slowness is real, not simulated: the test holds a lock in its own transaction that the API's
statement waits on, and watches the API's backends in pg_stat_activity.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from db.catalog import Product, ProductStatus
from db.users import Role
from resolvers.context import Services
from tests.support.apps import client_of, running_app
from tests.support.catalog import build_catalog, gid, new_user
from tests.support.graphql import GraphQLClient

DEADLINE = 1.0
UPDATE = """
mutation ($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { product { name slug } errors { code } }
}
"""
LISTING_WITH_REVIEWS = """
{ products(first: 5) { edges { node { name reviews(first: 2) { edges { node { title } } } } } } }
"""


async def waiting_api_statements(services: Services) -> list[str]:
    """The API's statements (any app of the suite) waiting on a lock now."""
    async with services.readers() as session:
        rows = await session.execute(
            text(
                "SELECT query FROM pg_stat_activity WHERE application_name = 'catalog-api' "
                "AND wait_event_type = 'Lock'"
            )
        )
        return [str(row[0]) for row in rows]


async def eventually_none_waiting(services: Services, within: float = 3.0) -> float:
    """Seconds until no API statement waits on a lock (fails after `within`)."""
    started = time.perf_counter()
    while await waiting_api_statements(services):
        assert time.perf_counter() - started < within, await waiting_api_statements(services)
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def typename_latency(gql: GraphQLClient) -> float:
    started = time.perf_counter()
    assert await gql.data("{ __typename }") == {"__typename": "Query"}
    return time.perf_counter() - started


async def test_a_write_waiting_on_a_lock_is_stopped_at_the_deadline(
    gql: GraphQLClient, services: Services, settings: Settings
) -> None:
    catalog = await build_catalog(services, products=2, reviews_per_product=0, users=1)
    product = catalog.products[1]
    _, staff_token = await new_user(services, Role.STAFF)
    async with running_app(settings, execution_deadline_seconds=DEADLINE) as application:
        api = client_of(application, token=staff_token)
        async with api.http:
            async with services.sessions() as holder:
                # An uncommitted product holding the slug: the API's UPDATE must wait for this
                # transaction to end before it can know whether the slug is free.
                await hold_slug(holder, "held-slug")
                started = time.perf_counter()
                update = asyncio.create_task(
                    api.post(
                        UPDATE,
                        {
                            "id": gid("Product", product.id),
                            "input": {"name": "Changed", "slug": "held-slug"},
                        },
                    )
                )
                await asyncio.sleep(0.3)
                waiting = await waiting_api_statements(services)
                quick = await typename_latency(api)
                body = await update
                stopped_after = time.perf_counter() - started
                cancelled_within = await eventually_none_waiting(services)
                await holder.rollback()  # the lock goes: a statement still queued would run now
            await asyncio.sleep(0.3)
            after = await api.data(
                UPDATE, {"id": gid("Product", product.id), "input": {"stock": 3}}
            )

    assert len(waiting) == 1 and waiting[0].startswith("UPDATE products")
    assert quick < 0.5
    assert DEADLINE <= stopped_after < DEADLINE + 1.5
    assert body == {
        "data": None,
        "errors": [
            {
                "message": f"The operation did not finish within the execution deadline of "
                f"{DEADLINE:g} seconds and was stopped.",
                "extensions": {"code": "DEADLINE_EXCEEDED"},
            }
        ],
        "extensions": {"cost": {"requested": 3, "limit": settings.max_query_cost}},
    }
    assert cancelled_within < 0.5  # the statement was cancelled in PostgreSQL, not abandoned
    # Nothing of the stopped write remains, and the app still writes.
    assert after["updateProduct"]["product"] == {"name": product.name, "slug": product.slug}


async def hold_slug(session: AsyncSession, slug: str) -> None:
    session.add(
        Product(
            sku="HELD-1",
            name="Held",
            slug=slug,
            description="",
            price=Decimal("1.00"),
            stock=1,
            status=ProductStatus.DRAFT,
        )
    )
    await session.flush()


async def test_dataloader_batches_are_stopped_with_the_request(
    gql: GraphQLClient, services: Services, settings: Settings
) -> None:
    await build_catalog(services, products=6, reviews_per_product=2, users=2)
    async with running_app(settings, execution_deadline_seconds=DEADLINE) as application:
        api = client_of(application)
        async with api.http:
            async with services.sessions() as holder:
                # Reads wait only on a table lock: the reviews' batch, in a dataloader task of
                # its own, blocks on it.
                await holder.execute(text("LOCK TABLE reviews IN ACCESS EXCLUSIVE MODE"))
                listing = asyncio.create_task(api.post(LISTING_WITH_REVIEWS))
                await asyncio.sleep(0.3)
                waiting = await waiting_api_statements(services)
                body = await listing
                cancelled_within = await eventually_none_waiting(services)
                await holder.rollback()
            again = await api.post(LISTING_WITH_REVIEWS)

    assert len(waiting) == 1 and "reviews" in waiting[0]
    assert [e["extensions"]["code"] for e in body["errors"]] == ["DEADLINE_EXCEEDED"]
    assert body["data"] is None
    assert cancelled_within < 0.5
    assert "errors" not in again, again


async def test_fast_operations_are_untouched_by_the_deadline(
    gql: GraphQLClient, services: Services, settings: Settings
) -> None:
    await build_catalog(services, products=6, reviews_per_product=2, users=2)
    async with running_app(settings, execution_deadline_seconds=DEADLINE) as application:
        api = client_of(application)
        async with api.http:
            data = await api.data(LISTING_WITH_REVIEWS)

    assert len(data["products"]["edges"]) == 5


# -- Response size ------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1024, 2048])
async def test_a_response_over_the_size_limit_is_refused_whole(
    gql: GraphQLClient, services: Services, settings: Settings, limit: int
) -> None:
    await build_catalog(services, products=30, reviews_per_product=0, users=1)
    document = "{ products(first: 25) { edges { node { id name slug description } } } }"
    full = await gql.data(document)  # the session's app: 10 MiB
    size = len((await gql.http.post("/graphql", json={"query": document})).content)
    assert limit < size < 10 * 1024

    async with running_app(settings, max_response_bytes=limit) as application:
        api = client_of(application)
        async with api.http:
            response = await api.http.post("/graphql", json={"query": document})
            small = await api.data("{ products(first: 1) { edges { node { id } } } }")

    body: dict[str, Any] = response.json()  # whole JSON: nothing truncated
    assert response.status_code == 200
    assert body == {
        "data": None,
        "errors": [
            {
                "message": f"The response would be {size} bytes, over the limit of {limit}: "
                "ask for less.",
                "extensions": {"code": "RESPONSE_TOO_LARGE"},
            }
        ],
        "extensions": {"cost": {"requested": 26, "limit": settings.max_query_cost}},
    }
    assert len(full["products"]["edges"]) == 25
    assert len(small["products"]["edges"]) == 1
