"""Rate limiting by cost: a token bucket per user (per client address when anonymous) in Redis,
charged with each request's cost, atomic and shared by every process; staff budgets larger;
a per-process bucket when Redis is unreachable.

Each test runs apps of its own with the limit on (the suite's settings turn it off).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.settings import Settings
from bench.servers import Server
from db.users import Role
from resolvers.context import Services
from tests.support.apps import catalog_servers, client_of, running_app, server_env
from tests.support.catalog import new_user
from tests.support.graphql import GRAPHQL_RESPONSE, GraphQLClient

COSTS_10 = "{ products(first: 9) { edges { node { id } } } }"
FREE = "{ __typename }"  # costs 0, charged 1: every request pays something


def limited(settings: Settings, burst: int, per_second: float = 0.01, **more: Any) -> Any:
    return running_app(
        settings,
        rate_limit=True,
        rate_limit_burst=burst,
        rate_limit_per_second=per_second,
        **more,
    )


def code_of(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or [{}]
    code: str | None = errors[0].get("extensions", {}).get("code")
    return code


async def spend(gql: GraphQLClient, document: str, times: int) -> list[str | None]:
    return [code_of(await gql.post(document)) for _ in range(times)]


async def test_over_budget_is_429_with_retry_after(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async with limited(settings, burst=30, per_second=1) as application:
        gql = client_of(application)
        async with gql.http:
            assert await spend(gql, COSTS_10, 3) == [None, None, None]
            refused = await gql.post(COSTS_10)
            response = gql.last
            legacy = await gql.http.post(
                "/graphql", json={"query": COSTS_10}, headers={"accept": "application/json"}
            )

    assert response is not None
    assert response.status_code == 429
    wait = int(response.headers["retry-after"])
    assert 9 <= wait <= 10  # 10 tokens missing, 1 a second
    assert "data" not in refused
    assert refused["errors"] == [
        {
            "message": f"Rate limit exceeded: this operation costs 10; try again in {wait} s.",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": wait},
        }
    ]
    assert refused["extensions"] == {"cost": {"requested": 10, "limit": settings.max_query_cost}}
    # Clients of plain application/json keep their 200, with the header.
    assert legacy.status_code == 200
    assert legacy.headers["retry-after"]
    assert code_of(legacy.json()) == "RATE_LIMITED"


async def test_the_bucket_refills(client: httpx.AsyncClient, settings: Settings) -> None:
    async with limited(settings, burst=10, per_second=100) as application:
        gql = client_of(application)
        async with gql.http:
            first = await spend(gql, COSTS_10, 2)
            await asyncio.sleep(0.15)  # 15 tokens' worth, capped at the burst of 10
            later = await spend(gql, COSTS_10, 2)

    assert first == [None, "RATE_LIMITED"]
    assert later == [None, "RATE_LIMITED"]


async def test_a_refused_request_does_not_run(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    register = (
        'mutation { register(input: {email: "late@example.com", name: "Late", '
        'password: "correct horse battery staple"}) { user { id } } }'
    )
    async with limited(settings, burst=2) as application:
        gql = client_of(application)
        async with gql.http:
            await spend(gql, FREE, 2)
            body = await gql.post(register)

    assert code_of(body) == "RATE_LIMITED"
    async with services.sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0


async def test_each_user_and_each_address_has_a_bucket(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    _, ann = await new_user(services)
    _, bob = await new_user(services)
    async with limited(settings, burst=20) as application:
        same_address = "198.51.100.1"
        ann_client = client_of(application, same_address, token=ann)
        bob_client = client_of(application, same_address, token=bob)
        anonymous = client_of(application, same_address)
        elsewhere = client_of(application, "198.51.100.2")
        bad_token = client_of(application, same_address, token="not-a-token")
        async with ann_client.http, bob_client.http, anonymous.http, elsewhere.http:
            ann_spent = await spend(ann_client, COSTS_10, 3)
            bob_spent = await spend(bob_client, COSTS_10, 2)
            anonymous_spent = await spend(anonymous, COSTS_10, 2)
            # A bad token counts as its address (whose bucket anonymous just emptied).
            bad_token_spent = await spend(bad_token, COSTS_10, 1)
            elsewhere_spent = await spend(elsewhere, COSTS_10, 2)
            await bad_token.http.aclose()

    assert ann_spent == [None, None, "RATE_LIMITED"]
    assert bob_spent == [None, None]
    assert anonymous_spent == [None, None]
    assert bad_token_spent == ["RATE_LIMITED"]
    assert elsewhere_spent == [None, None]


async def test_staff_get_the_factor_times_the_budget(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    _, staff = await new_user(services, Role.STAFF)
    _, customer = await new_user(services)
    async with limited(settings, burst=20, rate_limit_staff_factor=3) as application:
        staff_client = client_of(application, token=staff)
        customer_client = client_of(application, token=customer)
        async with staff_client.http, customer_client.http:
            staff_spent = await spend(staff_client, COSTS_10, 7)
            customer_spent = await spend(customer_client, COSTS_10, 3)

    assert staff_spent == [None] * 6 + ["RATE_LIMITED"]
    assert customer_spent == [None, None, "RATE_LIMITED"]


async def test_the_bucket_is_shared_and_atomic_across_apps(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # Two apps with services of their own (two processes' worth), one Redis, one caller.
    async with limited(settings, burst=20) as one, limited(settings, burst=20) as two:
        clients = [client_of(one, "198.51.100.7"), client_of(two, "198.51.100.7")]
        async with clients[0].http, clients[1].http:
            sequential = [code_of(await clients[i % 2].post(COSTS_10)) for i in range(3)]
            await clients[0].http.post("/graphql", json={"query": FREE})  # warm both pools
            # 40 at once for a fresh caller: exactly the burst goes through.
            fresh = [client_of(one, "198.51.100.8"), client_of(two, "198.51.100.8")]
            async with fresh[0].http, fresh[1].http:
                racing = await asyncio.gather(*(fresh[i % 2].post(FREE) for i in range(40)))

    assert sequential == [None, None, "RATE_LIMITED"]
    assert sum(code_of(body) is None for body in racing) == 20
    assert sum(code_of(body) == "RATE_LIMITED" for body in racing) == 20


async def test_without_redis_each_process_still_limits(
    client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="catalog.rate_limit")
    unreachable = "redis://127.0.0.1:9/0"
    async with limited(settings, burst=5, redis_url=unreachable) as application:
        gql = client_of(application)
        async with gql.http:
            started = time.perf_counter()
            spent = await spend(gql, FREE, 7)
            elapsed = time.perf_counter() - started

    assert spent == [None] * 5 + ["RATE_LIMITED"] * 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "catalog.rate_limit"]
    assert len(warnings) == 1 and "Redis unreachable" in warnings[0]
    assert elapsed < 2.0  # Redis is not tried again on every request


# -- Two real processes -------------------------------------------------------------------------


@pytest.fixture
def two_servers(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> Iterator[list[Server]]:
    """Two `catalog serve` processes on the suite's PostgreSQL and Redis, limit on."""
    env = server_env(
        settings,
        tmp_path,
        RATE_LIMIT="true",
        RATE_LIMIT_BURST="30",
        RATE_LIMIT_PER_SECOND="0.01",
    )
    with catalog_servers(["api-0", "api-1"], env, tmp_path) as servers:
        yield servers


async def test_the_bucket_is_shared_by_two_catalog_serve_processes(
    two_servers: list[Server],
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        answers = []
        for i in range(5):
            response = await http.post(
                f"{two_servers[i % 2].url}/graphql",
                json={"query": COSTS_10},
                headers={"accept": GRAPHQL_RESPONSE},
            )
            answers.append((two_servers[i % 2].name, response.status_code))

    # 30 tokens: three requests of 10 pass, whichever process they reach; then both refuse.
    assert answers == [
        ("api-0", 200),
        ("api-1", 200),
        ("api-0", 200),
        ("api-1", 429),
        ("api-0", 429),
    ]
