"""GraphQL over HTTP as a frontend sees it: status codes, media types, request ids, masking.

Follows https://graphql.github.io/graphql-over-http/draft/ : `application/graphql-response+json`
turns documents that never execute into 4xx responses without `data`; `application/json` keeps
the legacy 200.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import strawberry
from sqlalchemy import text
from starlette.applications import Starlette
from strawberry.extensions import SchemaExtension

from app.http import encode
from app.main import create_app
from app.settings import Settings
from resolvers.context import Services
from schema.extensions import ErrorPolicy
from schema.root import CatalogSchema
from tests.support.graphql import GRAPHQL_RESPONSE, GraphQLClient, SignUp, without_cost

JSON = "application/json"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
GENERATED_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { user { id } errors { code } }
}
"""
NEW_ACCOUNT = {"email": "new@example.com", "name": "New", "password": "correct horse battery"}


def assert_no_leak(response: httpx.Response) -> None:
    """Nothing of the server's insides: no traceback, driver names, file paths or SQL."""
    body = response.text
    for marker in ("traceback", "sqlalchemy", "asyncpg", "psycopg", "site-packages"):
        assert marker not in body.lower(), body
    for marker in ('File "', ".py", "/work/", "SELECT ", "INSERT INTO", "UPDATE users", " FROM "):
        assert marker not in body, body


async def post_raw(
    client: httpx.AsyncClient,
    content: Any,
    *,
    content_type: str = JSON,
    accept: str = GRAPHQL_RESPONSE,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/graphql",
        content=content,
        headers={"content-type": content_type, "accept": accept, **(headers or {})},
    )


async def user_count(services: Services) -> int:
    async with services.sessions() as session:
        count: int = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
    return count


# -- Content negotiation ----------------------------------------------------------------------


async def test_post_json_returns_data(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"me": None}}


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (JSON, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"text/html, {JSON};q=0.8", JSON),
    ],
)
async def test_response_media_type_follows_accept(
    client: httpx.AsyncClient, accept: str, media: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"accept": accept}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert without_cost(response.json()) == {"data": {"me": None}}


async def test_no_accept_header_gets_application_json(client: httpx.AsyncClient) -> None:
    request = client.build_request("POST", "/graphql", json={"query": "{ me { id } }"})
    del request.headers["accept"]

    response = await client.send(request)

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == JSON
    assert without_cost(response.json()) == {"data": {"me": None}}


@pytest.mark.parametrize("accept", ["text/html", "application/xml", f"{GRAPHQL_RESPONSE};q=0"])
async def test_unacceptable_accept_is_406(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"accept": accept}
    )

    assert response.status_code == 406
    message = response.json()["errors"][0]["message"]
    assert GRAPHQL_RESPONSE in message
    assert JSON in message
    assert "data" not in response.json()


# -- Documents that never execute --------------------------------------------------------------

REQUEST_ERRORS = [
    pytest.param("{ me { id }", None, "GRAPHQL_PARSE_FAILED", id="parse"),
    pytest.param("{ me { nope } }", None, "GRAPHQL_VALIDATION_FAILED", id="unknown-field"),
    pytest.param(
        "query ($first: Int) { users(first: $first) { totalCount } }",
        {"first": "ten"},
        "BAD_USER_INPUT",
        id="variable-wrong-type",
    ),
    pytest.param(
        "query ($id: ID!) { user(id: $id) { name } }",
        None,
        "BAD_USER_INPUT",
        id="variable-missing",
    ),
    pytest.param(
        "query ($id: ID!) { user(id: $id) { name } }",
        {"id": None},
        "BAD_USER_INPUT",
        id="variable-null",
    ),
]


@pytest.mark.parametrize(("query", "variables", "code"), REQUEST_ERRORS)
async def test_request_error_is_400_without_data_for_graphql_response_json(
    gql: GraphQLClient, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    body = await gql.post(query, variables)

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert gql.last.headers["content-type"].split(";")[0] == GRAPHQL_RESPONSE
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code
    assert "path" not in body["errors"][0]
    assert_no_leak(gql.last)


@pytest.mark.parametrize(("query", "variables", "code"), REQUEST_ERRORS)
async def test_request_error_is_200_without_data_for_application_json(
    gql: GraphQLClient, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    body = await gql.post(query, variables, headers={"accept": JSON})

    assert gql.last is not None
    assert gql.last.status_code == 200
    assert gql.last.headers["content-type"].split(";")[0] == JSON
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code


async def test_anonymous_field_error_is_200_with_data_and_path(gql: GraphQLClient) -> None:
    body = await gql.post("{ users { totalCount } }")

    assert gql.last is not None
    assert gql.last.status_code == 200
    assert "data" in body  # null: `users` is non-null, so the error reaches the root
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["users"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_customer_field_error_is_200_with_partial_data(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    customer = await sign_up()

    body = await gql.post(
        '{ me { email } user(id: "VXNlcjox") { name } }', token=customer.access_token
    )

    assert gql.last is not None
    assert gql.last.status_code == 200
    assert body["data"] == {"me": {"email": customer.email}, "user": None}
    [error] = body["errors"]
    assert error["path"] == ["user"]
    assert error["extensions"]["code"] == "FORBIDDEN"


# -- GET ----------------------------------------------------------------------------------------


async def test_get_runs_a_query(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ me { id } }"})

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"me": None}}


@pytest.mark.parametrize(("include", "data"), [(True, {"me": None}), (False, {})])
async def test_get_uses_json_variables(
    client: httpx.AsyncClient, include: bool, data: dict[str, Any]
) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($x: Boolean!) { me @include(if: $x) { id } }",
            "variables": json.dumps({"x": include}),
            "operationName": "Q",
        },
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": data}


async def test_mutation_over_get_is_405_and_does_not_run(
    client: httpx.AsyncClient, services: Services
) -> None:
    response = await client.get(
        "/graphql",
        params={"query": REGISTER, "variables": json.dumps({"input": NEW_ACCOUNT})},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "POST" in response.json()["errors"][0]["message"]
    assert await user_count(services) == 0


@pytest.mark.parametrize("variables", ["{", "{'x': 1}", "not json"])
async def test_get_with_variables_that_are_not_json_is_400(
    client: httpx.AsyncClient, variables: str
) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ me { id } }", "variables": variables}
    )

    assert response.status_code == 400
    assert "variables" in response.json()["errors"][0]["message"]


async def test_get_without_query_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": JSON})

    assert response.status_code == 400
    assert "query" in response.json()["errors"][0]["message"]


# -- Malformed requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b'{"query": "{ me { id } }"', "not valid JSON", id="truncated-json"),
        pytest.param(b"\xff\xfe\x00garbage", "not valid JSON", id="not-utf8"),
        pytest.param(b"", "not valid JSON", id="empty"),
        pytest.param(b'"{ me { id } }"', "JSON object", id="string"),
        pytest.param(b"42", "JSON object", id="number"),
        pytest.param(b'[{"query": "{ me { id } }"}]', "Batched", id="batch"),
        pytest.param(b"{}", "`query`", id="missing-query"),
        pytest.param(b'{"query": ""}', "`query`", id="empty-query"),
        pytest.param(b'{"query": 42}', "`query`", id="query-not-string"),
        pytest.param(
            b'{"query": "{ me { id } }", "variables": [1]}', "`variables`", id="variables-list"
        ),
        pytest.param(
            b'{"query": "{ me { id } }", "variables": "{}"}',
            "`variables`",
            id="variables-string",
        ),
        pytest.param(
            b'{"query": "{ me { id } }", "extensions": 1}', "`extensions`", id="extensions-number"
        ),
        pytest.param(
            b'{"query": "{ me { id } }", "operationName": 1}',
            "`operationName`",
            id="operation-name-number",
        ),
        pytest.param(
            b'{"query": "{ me { id } }", "variables": {"a": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}}",
            "not valid JSON",
            id="nested-too-deeply",
        ),
    ],
)
async def test_malformed_body_is_400_with_a_clear_message(
    client: httpx.AsyncClient, content: bytes, fragment: str
) -> None:
    response = await post_raw(client, content)

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert fragment in error["message"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert_no_leak(response)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", ""],
)
async def test_wrong_content_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await post_raw(
        client, json.dumps({"query": "{ me { id } }"}), content_type=content_type
    )

    assert response.status_code == 415
    assert JSON in response.json()["errors"][0]["message"]


async def test_multipart_without_a_preflight_header_is_400(client: httpx.AsyncClient) -> None:
    # Multipart is for uploads (tests/api/test_uploads.py), and only with the CSRF header.
    response = await post_raw(
        client,
        json.dumps({"query": "{ me { id } }"}),
        content_type="multipart/form-data; boundary=x",
    )

    assert response.status_code == 400
    assert "GraphQL-Require-Preflight" in response.json()["errors"][0]["message"]


async def test_form_post_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", data={"query": "{ me { id } }"})

    assert response.status_code == 415


async def test_json_with_charset_is_accepted(client: httpx.AsyncClient) -> None:
    response = await post_raw(
        client,
        json.dumps({"query": "{ me { id } }"}),
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"me": None}}


@pytest.mark.parametrize("operation_name", ["B", "a"])
async def test_unknown_operation_name_is_400(
    client: httpx.AsyncClient, operation_name: str
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "query A { me { id } }", "operationName": operation_name},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert f'"{operation_name}"' in message
    assert "operation" in message.lower()


async def test_operation_name_selects_the_operation(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "query A { me { id } } query B { __typename }", "operationName": "B"},
    )

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


# -- Body size ----------------------------------------------------------------------------------


def register_body(size: int) -> bytes:
    """A register request padded (in `extensions`, which nothing reads) to exactly `size` bytes."""
    payload: dict[str, Any] = {
        "query": REGISTER,
        "variables": {"input": NEW_ACCOUNT},
        "extensions": {"pad": ""},
    }
    bare = len(json.dumps(payload).encode())
    payload["extensions"]["pad"] = "x" * (size - bare)
    body = json.dumps(payload).encode()
    assert len(body) == size
    return body


async def test_body_at_the_limit_is_accepted(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    response = await post_raw(client, register_body(settings.max_body_bytes))

    assert response.status_code == 200
    assert response.json()["data"]["register"]["errors"] == []
    assert await user_count(services) == 1


async def test_oversized_body_is_413_and_not_executed(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    response = await post_raw(client, register_body(settings.max_body_bytes + 1))

    assert response.status_code == 413
    assert str(settings.max_body_bytes) in response.json()["errors"][0]["message"]
    assert await user_count(services) == 0


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_oversized_chunked_body_without_length_is_413(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    response = await post_raw(client, chunks(register_body(settings.max_body_bytes + 1)))

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert await user_count(services) == 0


async def test_oversized_body_with_lying_content_length_is_413(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    response = await post_raw(
        client,
        chunks(register_body(settings.max_body_bytes + 1)),
        headers={"content-length": "100"},
    )

    assert response.request.headers["content-length"] == "100"
    assert response.status_code == 413
    assert await user_count(services) == 0


async def test_oversized_declared_length_is_413_without_reading(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async def never_sent() -> AsyncIterator[bytes]:
        raise AssertionError("the body was read")
        yield b""  # pragma: no cover

    response = await post_raw(
        client, never_sent(), headers={"content-length": str(settings.max_body_bytes + 1)}
    )

    assert response.status_code == 413


# -- Request ids --------------------------------------------------------------------------------


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    responses = [
        await client.post("/graphql", json={"query": "{ me { id } }"}),
        await client.post("/graphql", json={"query": "{ me { nope } }"}),
        await post_raw(client, b"{", accept=JSON),
        await post_raw(client, b"{}", content_type="text/plain"),
        await client.post("/graphql", json={"query": "{ me { id } }"}, headers={"accept": "a/b"}),
        await client.get("/graphql", params={"query": "mutation { logoutAll { ok } }"}),
        await client.put("/graphql", json={}),
        await client.get("/graphql", headers={"accept": BROWSER_ACCEPT}),
        await client.get("/healthz"),
        await client.get("/readyz"),
        await client.get("/static/does-not-exist.js"),
        await client.get("/nowhere"),
    ]

    ids = [response.headers.get("x-request-id") for response in responses]
    assert all(request_id and GENERATED_ID.match(request_id) for request_id in ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("request_id", ["abcdefgh", "req-2024.01_ABC", "a" * 64])
async def test_sane_incoming_request_id_is_echoed(
    client: httpx.AsyncClient, request_id: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"x-request-id": request_id}
    )

    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    [
        "short",
        "a" * 65,
        "has spaces in it",
        "<script>alert(1)</script>",
        "abcdefgh;rm -rf",
        "abcdefgh\n",
        "abcdéfghij",
    ],
)
async def test_unsafe_incoming_request_id_is_replaced(
    client: httpx.AsyncClient, request_id: str
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={b"x-request-id": request_id.encode()},
    )

    echoed = response.headers["x-request-id"]
    assert echoed != request_id.encode().decode("latin-1")
    assert GENERATED_ID.fullmatch(echoed)


# -- Masking and logging ------------------------------------------------------------------------


@strawberry.type
class ExplodingQuery:
    @strawberry.field
    def boom(self) -> str | None:
        raise RuntimeError("secret internal detail")

    @strawberry.field
    def fine(self) -> str:
        return "fine"


async def test_unexpected_resolver_exception_is_masked_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = CatalogSchema(
        query=ExplodingQuery, extensions=[lambda: ErrorPolicy(suggestions=False)]
    )
    caplog.set_level(logging.INFO)

    result = await schema.execute(
        "{ fine boom }", context_value=SimpleNamespace(request_id="req-masking-1")
    )

    assert result.data == {"fine": "fine", "boom": None}
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "Internal server error."
    assert error.path == ["boom"]
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-masking-1"}
    assert "secret" not in json.dumps(error.formatted)
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "req-masking-1" in record.getMessage()
    assert record.exc_info is not None
    assert "secret internal detail" in caplog.text
    assert "Traceback" in caplog.text


class ExplodingValidation(SchemaExtension):
    def on_validate(self) -> Any:
        raise RuntimeError("secret: SELECT password_hash FROM users")
        yield  # pragma: no cover


async def test_exception_outside_resolvers_is_masked_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An extension hook or validation rule failing escapes strawberry's operation: still masked."""
    schema = CatalogSchema(
        query=ExplodingQuery,
        extensions=[lambda: ErrorPolicy(suggestions=False), ExplodingValidation],
    )
    caplog.set_level(logging.INFO)

    result = await schema.execute(
        "{ fine }", context_value=SimpleNamespace(request_id="req-masking-2")
    )

    assert result.errors is not None
    [error] = result.errors
    assert error.message == "Internal server error."
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-masking-2"}
    assert "SELECT" not in json.dumps(error.formatted)
    assert any(
        r.levelno >= logging.ERROR and "req-masking-2" in r.getMessage() for r in caplog.records
    )
    assert "password_hash" in caplog.text


async def test_client_mistakes_are_not_logged_as_errors(
    gql: GraphQLClient, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    await gql.post("{ me { nope } }")
    await gql.post("{ me { id }")
    await gql.post("query ($n: Int!) { users(first: $n) { totalCount } }")
    await gql.post("{ users { totalCount } }")
    await gql.post("{ me { id } }", token="not-a-token")
    await post_raw(client, b"{")
    await post_raw(client, b"{}", content_type="text/plain")

    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert loud == [], [r.getMessage() for r in loud]
    assert "Traceback" not in caplog.text


@pytest.fixture
async def broken_db_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with PostgreSQL unreachable (a closed local port; never the system server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broken = settings.model_copy(
        update={"database_url": f"postgresql://catalog:secret@127.0.0.1:{port}/catalog"}
    )
    application: Starlette = create_app(broken)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_database_outage_in_a_resolver_is_masked(
    broken_db_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await broken_db_client.post(
        "/graphql",
        json={
            "query": 'mutation { login(input: {email: "a@example.com", password: "x"}) '
            "{ accessToken } }"
        },
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error."
    assert error["path"] == ["login"]
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert_no_leak(response)
    assert response.headers["x-request-id"] in caplog.text


async def test_unhandled_error_is_a_json_500_with_request_id(
    broken_db_client: httpx.AsyncClient,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A well-signed token makes the endpoint look the session up before any resolver runs.
    token = services.signer.issue(1, uuid.uuid4())

    response = await broken_db_client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"authorization": f"Bearer {token}", "x-request-id": "req-outage-42"},
    )

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-outage-42"
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-outage-42"},
            }
        ]
    }
    assert_no_leak(response)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("req-outage-42" in r.getMessage() and r.exc_info for r in logged)


async def test_readiness_reports_an_unreachable_database(
    broken_db_client: httpx.AsyncClient,
) -> None:
    response = await broken_db_client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"postgres": "unavailable", "redis": "ok"},
    }
    assert_no_leak(response)


# -- Other routes -------------------------------------------------------------------------------


async def test_browser_get_shows_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert 'data-endpoint="/graphql"' in response.text


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_postgres_and_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgres": "ok", "redis": "ok"}}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/graphql", json={"query": "{ me { id } }"})

    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


async def test_non_numeric_content_length_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ me { id } }"}',
        headers={"content-type": "application/json", "content-length": "ten"},
    )
    assert response.status_code == 400
    assert "Content-Length" in response.json()["errors"][0]["message"]


async def test_head_is_answered_like_get(client: httpx.AsyncClient) -> None:
    response = await client.head("/graphql", params={"query": "{ me { id } }"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_favicon_is_answered_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.ico")
    assert response.status_code == 204
    assert response.content == b""


def test_encoding_escapes_strings_that_are_not_unicode() -> None:
    # orjson refuses a lone surrogate; the response must still be JSON, not a crash.
    encoded = encode({"errors": [{"message": "bad \ud800 value"}]})
    assert json.loads(encoded) == {"errors": [{"message": "bad \ud800 value"}]}


async def test_several_operations_need_an_operation_name(gql: GraphQLClient) -> None:
    document = "query A { me { id } } query B { products(first: 1) { totalCount } }"
    body = await gql.post(document)
    assert gql.last is not None and gql.last.status_code == 400
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "operation name" in body["errors"][0]["message"]

    chosen = await gql.http.post(
        "/graphql",
        json={"query": document, "operationName": "B"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert chosen.status_code == 200
    assert without_cost(chosen.json()) == {"data": {"products": {"totalCount": 0}}}


async def test_statement_timeout_cancels_long_queries(settings: Settings) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from db.session import create_engine

    assert settings.database_url
    engine = create_engine(settings.database_url, pool_size=1, statement_timeout_ms=100)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="statement timeout"):
                await connection.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()
