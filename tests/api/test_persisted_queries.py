"""Automatic persisted queries, Apollo's protocol, as Apollo Client's and urql's links speak it.

A hash alone → PersistedQueryNotFound (HTTP 200, not cacheable); hash and text → checked, run
and stored in Redis; then the hash alone works, over GET too (variables and extensions as JSON
query parameters). The store is shared, bounded, and optional: with Redis down, requests still
succeed with the full text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.apq_store import INDEX, PREFIX
from app.main import create_app
from app.settings import Settings
from tests.support.graphql import GRAPHQL_RESPONSE, without_cost

QUERY = "query Greeting { __typename }"
WITH_VARIABLES = "query Me($n: Int) { products(first: $n) { totalCount } }"
MUTATION = "mutation Out { logoutAll { ok } }"
JSON = "application/json"

AppClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str, digest: str | None = None) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest or sha256(text)}}


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], accept: str = GRAPHQL_RESPONSE
) -> httpx.Response:
    return await http.post("/graphql", json=body, headers={"accept": accept})


async def get_hashed(
    http: httpx.AsyncClient,
    text: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> httpx.Response:
    """A GET as Apollo Client's link sends it (`useGETForHashedQueries`): no query text."""
    params = {"extensions": json.dumps(persisted(text))}
    if operation_name is not None:
        params["operationName"] = operation_name
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return await http.get("/graphql", params=params, headers={"accept": GRAPHQL_RESPONSE})


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


@pytest.fixture
def app_with(settings: Settings, client: httpx.AsyncClient) -> AppClient:
    """An app of its own, with settings overridden (depends on `client`: empty Redis)."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(settings.model_copy(update=overrides))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield http

    return open_client


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_an_unknown_hash_asks_for_the_query(client: httpx.AsyncClient, accept: str) -> None:
    response = await post(client, {"extensions": persisted(QUERY)}, accept)

    # What Apollo Client's and urql's persisted-query links look for before retrying.
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert "no-cache" in response.headers["cache-control"]


async def test_the_round_trip_of_apollo_client(client: httpx.AsyncClient, redis: Redis) -> None:
    first = await get_hashed(client, QUERY, operation_name="Greeting")
    retry = await post(client, {"query": QUERY, "extensions": persisted(QUERY)})
    later = await get_hashed(client, QUERY, operation_name="Greeting")
    posted = await post(client, {"extensions": persisted(QUERY), "operationName": "Greeting"})

    assert codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert retry.status_code == 200
    assert without_cost(retry.json()) == {"data": {"__typename": "Query"}}
    assert later.status_code == posted.status_code == 200
    assert (
        without_cost(later.json())
        == without_cost(posted.json())
        == {"data": {"__typename": "Query"}}
    )
    assert "cache-control" not in later.headers  # a CDN may cache it by its rules
    assert await redis.get(PREFIX + sha256(QUERY)) == QUERY.encode()


async def test_variables_travel_beside_the_hash(client: httpx.AsyncClient) -> None:
    await post(client, {"query": WITH_VARIABLES, "extensions": persisted(WITH_VARIABLES)})

    response = await get_hashed(client, WITH_VARIABLES, {"n": 5})
    posted = await post(client, {"extensions": persisted(WITH_VARIABLES), "variables": {"n": 5}})

    assert (
        without_cost(response.json())
        == without_cost(posted.json())
        == {"data": {"products": {"totalCount": 0}}}
    )


async def test_a_hash_that_is_not_the_querys_is_refused(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    other = sha256("{ me { id } }")

    response = await post(client, {"query": QUERY, "extensions": persisted(QUERY, other)})

    assert response.status_code == 400
    assert codes(response) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert "does not match" in response.json()["errors"][0]["message"]
    assert "data" not in response.json()
    assert await redis.get(PREFIX + other) is None
    assert await redis.get(PREFIX + sha256(QUERY)) is None


@pytest.mark.parametrize(
    "document",
    ["{ __typename ", "{ nosuchfield }"],
    ids=["parse-error", "validation-error"],
)
async def test_documents_that_do_not_run_are_not_stored(
    client: httpx.AsyncClient, redis: Redis, document: str
) -> None:
    response = await post(client, {"query": document, "extensions": persisted(document)})
    again = await post(client, {"extensions": persisted(document)})

    assert response.status_code == 400
    assert codes(again) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await redis.zcard(INDEX) == 0


async def test_a_stored_mutation_still_needs_post(client: httpx.AsyncClient) -> None:
    stored = await post(client, {"query": MUTATION, "extensions": persisted(MUTATION)})
    assert codes(stored) == ["UNAUTHENTICATED"]  # it ran (and needs a signed-in user)

    response = await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(MUTATION))},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        ({"persistedQuery": {"version": 2, "sha256Hash": sha256(QUERY)}}, "version"),
        ({"persistedQuery": {"version": 1}}, "sha256Hash"),
        ({"persistedQuery": "x"}, "object"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "64 hexadecimal"),
    ],
)
async def test_malformed_extensions_are_bad_requests(
    client: httpx.AsyncClient, extensions: dict[str, Any], message: str
) -> None:
    response = await post(client, {"extensions": extensions})

    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]
    assert message in response.json()["errors"][0]["message"]


async def test_a_request_with_neither_query_nor_hash_is_still_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, {"extensions": {"other": 1}})

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The request must have a `query` string."


async def test_the_store_is_shared_by_every_process(
    client: httpx.AsyncClient, app_with: AppClient
) -> None:
    await post(client, {"query": QUERY, "extensions": persisted(QUERY)})

    async with app_with() as other_process:
        response = await post(other_process, {"extensions": persisted(QUERY)})

    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


async def test_the_store_is_bounded(app_with: AppClient, redis: Redis) -> None:
    documents = [f"query Q{n} {{ __typename }}" for n in range(14)]
    async with app_with(apq_max_entries=10, apq_ttl_seconds=600) as http:
        for document in documents[:10]:
            await post(http, {"query": document, "extensions": persisted(document)})
        # A use counts: the first stays while the next oldest go.
        assert (await post(http, {"extensions": persisted(documents[0])})).status_code == 200
        for document in documents[10:]:
            await post(http, {"query": document, "extensions": persisted(document)})
        found = [
            codes(await post(http, {"extensions": persisted(document)})) == []
            for document in documents
        ]

    assert found == [True] + [False] * 4 + [True] * 9
    assert await redis.zcard(INDEX) == 10
    assert len(await redis.keys(PREFIX + "[0-9a-f]*")) == 10
    assert 0 < await redis.ttl(PREFIX + sha256(documents[-1])) <= 600


async def test_redis_down_means_not_found_and_never_a_failure(app_with: AppClient) -> None:
    async with app_with(redis_url="redis://127.0.0.1:9/0") as http:
        hashed = await post(http, {"extensions": persisted(QUERY)})
        retry = await post(http, {"query": QUERY, "extensions": persisted(QUERY)})

    assert hashed.status_code == 200
    assert codes(hashed) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert retry.status_code == 200
    assert without_cost(retry.json()) == {"data": {"__typename": "Query"}}


async def test_off_means_plain_graphql(app_with: AppClient, redis: Redis) -> None:
    async with app_with(persisted_queries="off") as http:
        hashed = await post(http, {"extensions": persisted(QUERY)})
        retry = await post(http, {"query": QUERY, "extensions": persisted(QUERY)})
        plain = await post(http, {"query": QUERY})

    assert hashed.status_code == 200
    assert hashed.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
    assert codes(hashed) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
    assert (
        without_cost(retry.json())
        == without_cost(plain.json())
        == {"data": {"__typename": "Query"}}
    )
    assert await redis.zcard(INDEX) == 0
