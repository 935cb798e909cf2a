"""The fast path of compiled queries (app/compiled_plans.py): a repeated compiled query is
answered by the HTTP layer's plan cache, and every answer is the one the normal path gives.

Each test sends the same request to an app several times: the first takes the normal path
(strawberry, whose hook compiles the query and keeps its plan), later ones the fast path
(`x-catalog-plan: cached`). Status, media type and body are compared byte for byte, and with
the answer of an app whose compiler is off (the executor's) where that is meaningful.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.settings import Settings
from bench.queries import QUERIES as BENCH_QUERIES
from db.users import Role
from resolvers.context import Services
from tests.api.test_compiled_equivalence import ordered, seed
from tests.support.apps import running_app
from tests.support.catalog import execute, new_user

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
COSTS_10 = "{ products(first: 9) { edges { node { id name } } } }"
PAGE = "query Page($n: Int) { products(first: $n) { edges { node { id name } } } }"


@pytest.fixture(autouse=True)
def _empty_state(client: httpx.AsyncClient) -> None:
    """Every test starts from empty tables and Redis (the `client` fixture's reset)."""


@asynccontextmanager
async def http_of(
    settings: Settings, address: str = "203.0.113.7", **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app of its own with `overrides`, the path header on."""
    overrides.setdefault("compiled_queries", True)
    async with running_app(settings, answer_path_header=True, **overrides) as app:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


def app_of(http: httpx.AsyncClient) -> Starlette:
    app: Starlette = http.app  # type: ignore[attr-defined]
    return app


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    accept: str = GRAPHQL_RESPONSE,
    extensions: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = {"accept": accept}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query, "variables": variables}
    if extensions is not None:
        body["extensions"] = extensions
    return await http.post("/graphql", json=body, headers=headers)


def seen(response: httpx.Response) -> tuple[int, str, bytes]:
    """What a client sees: status, media type, body."""
    return response.status_code, response.headers["content-type"], response.content


def path_of(response: httpx.Response) -> tuple[str | None, str | None]:
    return response.headers.get("x-catalog-path"), response.headers.get("x-catalog-plan")


def bench_requests() -> list[tuple[str, str, dict[str, Any]]]:
    requests = []
    for query in BENCH_QUERIES[:3]:  # listing, detail, flat
        variables = dict(query.variables)
        if "slug" in variables:
            variables["slug"] = "product-1"
        requests.append((query.name, query.query, variables))
    return requests


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_a_repeated_compiled_query_is_answered_from_the_plan_cache(
    services: Services, settings: Settings, accept: str, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(services)
    _, customer = await new_user(services)
    caplog.set_level(logging.DEBUG, "catalog.http")
    async with (
        http_of(settings) as compiled,
        http_of(settings, compiled_queries=False) as executor,
    ):
        for name, query, variables in bench_requests():
            for token in (None, customer):
                first = await post(compiled, query, variables, token=token, accept=accept)
                again = [
                    await post(compiled, query, variables, token=token, accept=accept)
                    for _ in range(2)
                ]
                theirs = await post(executor, query, variables, token=token, accept=accept)
                assert path_of(first) == ("compiled", None), name
                assert [path_of(r) for r in again] == [("compiled", "cached")] * 2, name
                assert path_of(theirs) == ("executor", None), name
                assert all(seen(r) == seen(first) for r in again), name
                assert theirs.status_code == first.status_code == 200
                assert ordered(theirs.text) == ordered(first.text), name
                assert first.headers["content-type"] == accept
        plans = app_of(compiled).state.graphql.plans
        assert len(plans) == 6  # three documents, for two role classes

    answered = [r for r in caplog.records if hasattr(r, "answered_by")]
    cached = [r.answered_by for r in answered if r.cached_plan]  # type: ignore[attr-defined]
    assert cached == ["compiled"] * 12
    assert [r.answered_by for r in answered if not r.cached_plan].count("compiled") == 6  # type: ignore[attr-defined]


async def test_the_fast_path_fills_in_the_viewer(services: Services, settings: Settings) -> None:
    """One plan per role class, the viewer filled in per request: each customer sees their
    own pending review, never the other's."""
    catalog = await seed(services)
    product = catalog.products[1]
    users = [await new_user(services) for _ in range(2)]
    for user, _ in users:
        await execute(
            services,
            "INSERT INTO reviews (product_id, user_id, rating, title, status)"
            " VALUES (:product, :user, 2, :title, 'pending')",
            product=product.id,
            user=user.id,
            title=f"pending by {user.id}",
        )
    query = "query R($slug: String!) { product(slug: $slug) { reviews(first: 50) { edges {"
    query += " node { title } } } } }"
    async with http_of(settings) as http:
        answers = [
            await post(http, query, {"slug": product.slug}, token=token) for _, token in users * 2
        ]
    assert [path_of(r) for r in answers] == [("compiled", None)] + [("compiled", "cached")] * 3
    for (user, _), response in zip(users * 2, answers, strict=True):
        titles = {
            e["node"]["title"] for e in response.json()["data"]["product"]["reviews"]["edges"]
        }
        assert {t for t in titles if t.startswith("pending by")} == {f"pending by {user.id}"}


async def test_an_expired_or_bad_token_gets_the_executors_error(
    services: Services, settings: Settings
) -> None:
    await seed(services)
    user, token = await new_user(services)
    issued_at = datetime.now(UTC) - timedelta(days=2)
    expired = services.signer.issue(user.id, uuid.uuid4(), now=issued_at)
    query = "{ products(first: 3) { edges { node { name } } } me { email } }"
    anonymous_detail = bench_requests()[1]
    async with (
        http_of(settings) as compiled,
        http_of(settings, compiled_queries=False) as executor,
    ):
        # The plans are warm for anonymous and customer callers.
        for _ in range(2):
            await post(compiled, query, token=token)
            await post(compiled, query)
            await post(compiled, anonymous_detail[1], anonymous_detail[2])
        for bad in (expired, "not-a-token"):
            for text, variables in ((query, None), anonymous_detail[1:]):
                ours = [await post(compiled, text, variables, token=bad) for _ in range(2)]
                theirs = await post(executor, text, variables, token=bad)
                assert [path_of(r) for r in ours] == [("executor", None)] * 2
                assert seen(ours[0]) == seen(ours[1]) == seen(theirs)
        body = (await post(compiled, query, token=expired)).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"].lower()


async def rate_limited_answers(settings: Settings, compiled: bool) -> list[httpx.Response]:
    """COSTS_10 sent until the bucket (two requests' worth) is empty, twice refused."""
    address = "203.0.113.21" if compiled else "203.0.113.22"
    async with http_of(
        settings,
        address,
        compiled_queries=compiled,
        rate_limit=True,
        rate_limit_burst=20,
        rate_limit_per_second=0.01,
    ) as http:
        return [await post(http, COSTS_10, accept=accept) for accept in [GRAPHQL_RESPONSE] * 4]


async def test_a_rate_limited_client_is_refused_alike(
    services: Services, settings: Settings
) -> None:
    await seed(services)
    ours = await rate_limited_answers(settings, compiled=True)
    theirs = await rate_limited_answers(settings, compiled=False)
    assert [path_of(r) for r in ours] == [
        ("compiled", None),
        ("compiled", "cached"),
        (None, None),
        (None, None),
    ]
    assert [r.status_code for r in ours] == [200, 200, 429, 429]
    for mine, executors in zip(ours[2:], theirs[2:], strict=True):
        assert seen(mine) == seen(executors)
        assert mine.headers["retry-after"] == executors.headers["retry-after"]
    assert ours[2].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert ours[2].json()["extensions"] == {"cost": {"requested": 10, "limit": 5000}}
    assert ordered(ours[1].text) == ordered(theirs[1].text)


async def test_the_cost_verdict_follows_the_variables(
    services: Services, settings: Settings
) -> None:
    """A plan kept for a cheap page never answers a page over the cost limit: the verdict is
    kept per document and variables."""
    await seed(services)
    async with (
        http_of(settings, max_query_cost=20) as compiled,
        http_of(settings, max_query_cost=20, compiled_queries=False) as executor,
    ):
        cheap = [await post(compiled, PAGE, {"n": 5}) for _ in range(2)]
        costly = [await post(compiled, PAGE, {"n": 30}) for _ in range(2)]
        too_costly_literal = "{ products(first: 30) { edges { node { id } } } }"
        literal = [await post(compiled, too_costly_literal) for _ in range(2)]
        theirs_costly = await post(executor, PAGE, {"n": 30})
        theirs_literal = await post(executor, too_costly_literal)
    assert [path_of(r) for r in cheap] == [("compiled", None), ("compiled", "cached")]
    for refused, theirs in ((costly, theirs_costly), (literal, theirs_literal)):
        assert [path_of(r) for r in refused] == [(None, None)] * 2
        assert seen(refused[0]) == seen(refused[1]) == seen(theirs)
        assert theirs.status_code == 400
        assert theirs.json()["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"


async def test_persisted_queries_take_the_fast_path_by_hash(
    services: Services, settings: Settings
) -> None:
    await seed(services)
    digest = hashlib.sha256(PAGE.encode()).hexdigest()
    hashed = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with http_of(settings) as http:
        unknown = await http.post("/graphql", json={"variables": {"n": 3}, "extensions": hashed})
        stored = await post(http, PAGE, {"n": 3}, extensions=hashed)
        by_hash = [
            await http.post("/graphql", json={"variables": {"n": 3}, "extensions": hashed})
            for _ in range(2)
        ]
        over_get = await http.get(
            "/graphql",
            params={"variables": json.dumps({"n": 3}), "extensions": json.dumps(hashed)},
        )
        mismatch = await post(http, COSTS_10, extensions=hashed)
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert path_of(stored) == ("compiled", None)
    assert [path_of(r) for r in [*by_hash, over_get]] == [("compiled", "cached")] * 3
    assert len({r.content for r in [stored, *by_hash, over_get]}) == 1
    assert mismatch.status_code == 400
    assert mismatch.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


async def test_trusted_documents_still_refuse_what_staff_ran(
    services: Services, settings: Settings
) -> None:
    """Staff may send any document (its plan is then kept); a customer sending the same text
    is refused before any plan is looked up."""
    await seed(services)
    _, staff = await new_user(services, Role.STAFF)
    _, customer = await new_user(services)
    async with http_of(settings, persisted_queries="allowlist") as http:
        staffs = [await post(http, COSTS_10, token=staff) for _ in range(2)]
        refused = [await post(http, COSTS_10, token=token) for token in (customer, None)]
    assert [path_of(r) for r in staffs] == [("compiled", None), ("compiled", "cached")]
    assert [r.status_code for r in refused] == [403, 403]
    assert {r.json()["errors"][0]["extensions"]["code"] for r in refused} == {
        "QUERY_NOT_IN_SAFELIST"
    }


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_get_requests_take_the_fast_path(
    services: Services, settings: Settings, accept: str
) -> None:
    await seed(services)
    params = {"query": PAGE, "variables": json.dumps({"n": 4})}
    async with (
        http_of(settings) as compiled,
        http_of(settings, compiled_queries=False) as executor,
    ):
        answers = [
            await compiled.get("/graphql", params=params, headers={"accept": accept})
            for _ in range(3)
        ]
        posted = await post(compiled, PAGE, {"n": 4}, accept=accept)
        theirs = await executor.get("/graphql", params=params, headers={"accept": accept})
        mutation = "mutation Out { logoutAll { ok } }"
        refused = await compiled.get(
            "/graphql", params={"query": mutation}, headers={"accept": accept}
        )
    assert [path_of(r) for r in answers] == [("compiled", None)] + [("compiled", "cached")] * 2
    assert path_of(posted) == ("compiled", "cached")  # one plan for both methods
    assert len({seen(r) for r in [*answers, posted]}) == 1
    assert answers[0].headers["content-type"] == accept
    assert ordered(theirs.text) == ordered(answers[0].text)
    assert refused.status_code == 405


async def test_the_deadline_applies_on_the_fast_path(
    services: Services, settings: Settings
) -> None:
    await seed(services)
    async with (
        http_of(settings) as compiled,
        http_of(settings, execution_deadline_seconds=1e-9) as stopped,
    ):
        await post(compiled, COSTS_10)
        plans = app_of(compiled).state.graphql.plans
        plans.deadline_seconds = 1e-9  # the plan is kept; the next statement is stopped
        ours = await post(compiled, COSTS_10)
        theirs = await post(stopped, COSTS_10)
    assert path_of(theirs) == ("executor", None)
    assert path_of(ours) == ("executor", "cached")
    assert seen(ours) == seen(theirs)
    assert ours.json()["errors"][0]["extensions"]["code"] == "DEADLINE_EXCEEDED"


async def test_switched_off_there_is_no_fast_path(services: Services, settings: Settings) -> None:
    await seed(services)
    async with http_of(settings, compiled_queries=False) as http:
        answers = [await post(http, PAGE, {"n": 2}) for _ in range(3)]
        assert app_of(http).state.graphql.plans is None
    assert [path_of(r) for r in answers] == [("executor", None)] * 3
    assert len({seen(r) for r in answers}) == 1


async def test_a_failing_statement_drops_its_plan_and_the_executor_answers(
    services: Services, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(services)
    async with http_of(
        settings, rate_limit=True, rate_limit_burst=100, rate_limit_per_second=0.01
    ) as http:
        first = await post(http, COSTS_10)
        plans = app_of(http).state.graphql.plans
        [key] = list(plans._plans)
        plan = plans.get(key)
        assert plan is not None
        broken = type(plan.statement)(sql="SELECT no_such_column", params=[], viewer_index=None)
        plans._plans.put(key, type(plan)(broken, plan.cost))
        with caplog.at_level(logging.ERROR, "catalog.compiler"):
            fallback = await post(http, COSTS_10)
        after = await post(http, COSTS_10)
        bucket = await app_of(http).state.services.redis.hget(
            "ratelimit:address:203.0.113.7", "tokens"
        )
    assert path_of(fallback) == ("compiled", None)  # strawberry's hook has its own plan
    assert path_of(after) == ("compiled", "cached")
    assert fallback.content == first.content == after.content
    assert "the compiled statement failed" in caplog.text
    # Charged once per request, the fallback included: 100 - 3 x 10 (and a little refill).
    assert 70 <= float(bucket) < 71


async def test_a_refused_persisted_query_is_not_stored(
    services: Services, settings: Settings
) -> None:
    """As on the normal path, a request refused before it ran (here: rate limited on the fast
    path) does not store its automatic persisted query."""
    await seed(services)
    digest = hashlib.sha256(COSTS_10.encode()).hexdigest()
    hashed = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with http_of(
        settings, rate_limit=True, rate_limit_burst=10, rate_limit_per_second=0.01
    ) as first:
        transport = httpx.ASGITransport(app=app_of(first), client=("203.0.113.99", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as second:
            warm = await post(first, COSTS_10)  # the plan is kept (first's budget spent)
            spent = await post(second, COSTS_10)  # second's budget spent on the fast path
            refused = await post(second, COSTS_10, extensions=hashed)
            by_hash = await second.post("/graphql", json={"extensions": hashed})
    assert path_of(warm) == ("compiled", None)
    assert path_of(spent) == ("compiled", "cached")
    assert refused.status_code == 429
    assert by_hash.json()["errors"][0]["message"] == "PersistedQueryNotFound"
