"""Production behaviour: no introspection or field suggestions for the public, no GraphiQL unless
asked for, and no start without a strong secret.

The production app shares the test database and secret with the development app, so accounts
made with `sign_up` (through the development app) sign in to it too.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, TypedDict

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from app.main import create_app
from app.settings import Settings
from tests.support.graphql import GRAPHQL_RESPONSE, GraphQLClient, SignUp, without_cost

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
INTROSPECTION = [
    pytest.param("{ __schema { types { name } } }", id="schema"),
    pytest.param('{ __type(name: "User") { fields { name } } }', id="type"),
    pytest.param("{ me { id } ... on Query { __schema { queryType { name } } } }", id="nested"),
]
# Documents whose validation messages suggest names of the schema ("Did you mean ...?").
MISSPELT = [
    pytest.param("{ me { nam } }", None, "Cannot query field 'nam' on type 'User'.", id="field"),
    pytest.param(
        "{ users(frist: 1) { totalCount } }",
        None,
        "Unknown argument 'frist' on field 'Query.users'.",
        id="argument",
    ),
    pytest.param(
        'mutation { setUserRole(id: "x", role: ADMN) { errors { code } } }',
        None,
        "Value 'ADMN' does not exist in 'Role' enum.",
        id="enum",
    ),
    pytest.param("query ($u: Usr) { me { id } }", None, "Unknown type 'Usr'.", id="type"),
    pytest.param(
        "mutation ($input: RegisterInput!) { register(input: $input) { errors { code } } }",
        {"input": {"emial": "a@example.com", "name": "A", "password": "correct horse battery"}},
        "Variable '$input' has invalid value: Expected value of type 'RegisterInput' not to "
        "include unknown field 'emial'.",
        id="input-field-variable",
    ),
    pytest.param(
        'mutation { register(input: {emial: "a@example.com", name: "A", password: "p"}) '
        "{ errors { code } } }",
        None,
        "Expected value of type 'RegisterInput' not to include unknown field 'emial'.",
        id="input-field-literal",
    ),
]

ALPHANUMERIC = string.ascii_letters + string.digits
ProductionClient = Callable[..., AbstractAsyncContextManager[GraphQLClient]]


def production_settings(settings: Settings, **overrides: Any) -> Settings:
    assert settings.secret_key is not None
    return Settings(
        environment="production",
        secret_key=settings.secret_key,  # the development app's: its tokens are valid here
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        data_dir=settings.data_dir,
        _env_file=None,
        **{"mail_transport": "outbox", **overrides},
    )


@pytest.fixture
def production(settings: Settings, client: httpx.AsyncClient) -> ProductionClient:
    """Opens a production app (settings overridable) and a GraphQL client of it.

    Depends on `client` so that the tables start empty, as for the other tests.
    """

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[GraphQLClient]:
        application = create_app(production_settings(settings, **overrides))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, client=("198.51.100.9", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield GraphQLClient(http)

    return open_client


@pytest.fixture
async def prod(production: ProductionClient) -> AsyncIterator[GraphQLClient]:
    async with production() as gql:
        yield gql


def messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body["errors"]]


def message_starting(body: dict[str, Any], start: str) -> str:
    [message] = [m for m in messages(body) if m.startswith(start)]
    return message


# -- Introspection ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", INTROSPECTION)
async def test_introspection_is_refused_for_anonymous(prod: GraphQLClient, query: str) -> None:
    body = await prod.post(query)

    assert prod.last is not None
    assert prod.last.status_code == 400
    assert "data" not in body
    for error in body["errors"]:
        assert "introspection has been disabled" in error["message"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize("query", INTROSPECTION)
async def test_introspection_is_refused_for_a_customer(
    prod: GraphQLClient, sign_up: SignUp, query: str
) -> None:
    customer = await sign_up()

    body = await prod.post(query, token=customer.access_token)

    assert prod.last is not None
    assert prod.last.status_code == 400
    assert "data" not in body
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_introspection_is_refused_for_a_bad_token(prod: GraphQLClient) -> None:
    body = await prod.post("{ __schema { types { name } } }", token="forged.token.value")

    assert prod.last is not None
    assert prod.last.status_code == 400
    assert "introspection" in body["errors"][0]["message"].lower()


@pytest.mark.parametrize("role", ["staff", "admin"])
async def test_introspection_is_allowed_for_staff(
    prod: GraphQLClient, sign_up: SignUp, role: str
) -> None:
    member = await sign_up(role=role)

    data = await prod.data("{ __schema { types { name } } }", token=member.access_token)

    assert {"Query", "Mutation", "User"} <= {t["name"] for t in data["__schema"]["types"]}


async def test_typename_is_not_introspection(prod: GraphQLClient) -> None:
    assert await prod.data("{ __typename me { id } }") == {"__typename": "Query", "me": None}


async def test_introspection_is_allowed_in_development(gql: GraphQLClient) -> None:
    data = await gql.data("{ __schema { types { name } } }")

    assert "User" in {t["name"] for t in data["__schema"]["types"]}


# -- Field suggestions --------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "variables", "start"), MISSPELT)
async def test_no_suggestions_for_anonymous_in_production(
    prod: GraphQLClient, query: str, variables: dict[str, Any] | None, start: str
) -> None:
    body = await prod.post(query, variables)

    assert prod.last is not None
    assert prod.last.status_code == 400
    assert message_starting(body, start)
    assert not any("Did you mean" in message for message in messages(body)), body


async def test_no_suggestions_for_a_customer_in_production(
    prod: GraphQLClient, sign_up: SignUp
) -> None:
    customer = await sign_up()

    body = await prod.post("{ me { nam } }", token=customer.access_token)

    assert messages(body) == ["Cannot query field 'nam' on type 'User'."]


@pytest.mark.parametrize(("query", "variables", "start"), MISSPELT)
async def test_suggestions_in_development(
    gql: GraphQLClient, query: str, variables: dict[str, Any] | None, start: str
) -> None:
    body = await gql.post(query, variables)

    assert "Did you mean" in message_starting(body, start)


async def test_suggestions_for_staff_in_production(prod: GraphQLClient, sign_up: SignUp) -> None:
    staff = await sign_up(role="staff")

    body = await prod.post("{ me { nam } }", token=staff.access_token)

    assert messages(body) == ["Cannot query field 'nam' on type 'User'. Did you mean 'name'?"]


async def test_production_still_serves_queries_and_field_errors(
    prod: GraphQLClient, sign_up: SignUp
) -> None:
    customer = await sign_up()

    body = await prod.post("{ me { email } users { totalCount } }", token=customer.access_token)

    assert prod.last is not None
    assert prod.last.status_code == 200
    assert body["data"] is None  # `users` is non-null
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await prod.data("{ me { email } }", token=customer.access_token) == {
        "me": {"email": customer.email}
    }


# -- GraphiQL -----------------------------------------------------------------------------------


async def test_graphiql_is_off_in_production(prod: GraphQLClient) -> None:
    response = await prod.http.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert "<script" not in response.text


async def test_graphiql_can_be_turned_on_in_production(production: ProductionClient) -> None:
    async with production(graphiql=True) as gql:
        response = await gql.http.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in response.headers


async def test_graphiql_can_be_turned_off_in_development(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    application = create_app(settings.model_copy(update={"graphiql": False}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert response.status_code == 404


async def test_get_queries_still_work_in_production(prod: GraphQLClient) -> None:
    response = await prod.http.get(
        "/graphql", params={"query": "{ me { id } }"}, headers={"accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"me": None}}


# -- Settings -----------------------------------------------------------------------------------


class Urls(TypedDict, total=False):
    """The service URLs, as `Settings` keyword arguments (optional: some tests omit one)."""

    database_url: str
    redis_url: str


URLS: Urls = {"database_url": "postgresql://u@127.0.0.1:1/db", "redis_url": "redis://127.0.0.1:1/0"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("short", id="short"),
        pytest.param("changethis", id="weak"),
        pytest.param(secrets.token_urlsafe(48)[:31], id="one-too-short"),
        pytest.param("x" * 32, id="repeated"),
        pytest.param("ab" * 20, id="pattern"),
        pytest.param("my-super-secret-jwt-signing-key-for-production", id="words"),
        pytest.param("qwertyuiopasdfghjklzxcvbnm123456", id="keyboard"),
        pytest.param("changeme-changeme-changeme-changeme", id="changeme"),
        pytest.param("Password1234567890Password123456", id="password"),
    ],
)
def test_production_refuses_a_missing_or_weak_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(
            environment="production",
            secret_key=None if secret is None else SecretStr(secret),
            _env_file=None,
            **URLS,
        )


@pytest.mark.usefixtures("clean_env")
def test_production_refuses_a_weak_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "changeme")

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, **URLS)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("missing", ["database_url", "redis_url"])
def test_production_requires_database_and_redis(
    missing: Literal["database_url", "redis_url"],
) -> None:
    urls = URLS.copy()
    del urls[missing]

    with pytest.raises(ValidationError, match=missing.upper()):
        Settings(
            environment="production",
            secret_key=SecretStr(secrets.token_urlsafe(48)),
            mail_transport="outbox",
            _env_file=None,
            **urls,
        )


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(secrets.token_urlsafe(32), id="token_urlsafe(32)"),
        pytest.param(secrets.token_urlsafe(48), id="token_urlsafe(48)"),
        pytest.param(secrets.token_hex(32), id="token_hex(32)"),
        pytest.param("".join(secrets.choice(ALPHANUMERIC) for _ in range(32)), id="random-32"),
        pytest.param("Xk2pQ9vLm4Tz7Wc1Rb8Nf3Hs6Jd0Yg5A", id="typed-random-32"),
    ],
)
def test_production_accepts_a_strong_secret(secret: str) -> None:
    settings = Settings(
        environment="production",
        secret_key=SecretStr(secret),
        mail_transport="outbox",
        _env_file=None,
        **URLS,
    )

    assert settings.is_production
    assert not settings.graphiql_enabled
    assert settings.signing_key == secret


@pytest.mark.usefixtures("clean_env")
def test_development_needs_no_secret(tmp_path: Any) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)

    assert not settings.is_production
    assert settings.graphiql_enabled
    assert len(settings.signing_key) >= 32
    assert settings.signing_key == (tmp_path / "secret_key").read_text().strip()
