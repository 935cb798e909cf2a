"""Hostile documents: too long, too deep, too many aliases, tokens or directives, fragment bombs.

Each is refused with a 400 and a message saying which limit it broke, before any resolver runs
(so before any SQL: the requests here carry no Authorization header, whose lookup is the only
statement a request runs before execution). GraphiQL's introspection query stays allowed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from resolvers.context import Services
from tests.support.apps import app_client
from tests.support.database import StatementCounter
from tests.support.graphql import GRAPHQL_RESPONSE, GraphQLClient, SignUp

REGISTER_FIELD = (
    'register(input: {{email: "u{i}@example.com", name: "U", password: "correct horse battery"}})'
    " {{ user {{ id }} }}"
)


def nested(levels: int, *, top: str = "me") -> str:
    """A query whose deepest field sits `levels` fields below the root field `top`.

    The schema is shallow (User has no object fields), so the levels below `me` are unknown
    fields: the document is invalid anyway, and the test looks for the depth error among the
    errors.
    """
    return "{ " + top + " { " + "a { " * (levels - 1) + "id" + " }" * levels + " }"


def errors_of(response: httpx.Response) -> list[str]:
    body: dict[str, Any] = response.json()
    assert "data" not in body, body
    return [error["message"] for error in body["errors"]]


async def user_count(services: Services) -> int:
    async with services.sessions() as session:
        count: int = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
    return count


# -- Depth --------------------------------------------------------------------------------------


async def test_query_deeper_than_the_limit_is_refused(
    gql: GraphQLClient, settings: Settings, count_statements: StatementCounter
) -> None:
    await gql.post(nested(settings.max_query_depth + 1))

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert (
        f"'anonymous' exceeds maximum operation depth of {settings.max_query_depth}"
        in errors_of(gql.last)
    )
    assert count_statements.count == 0


async def test_query_at_the_depth_limit_is_not_refused_for_depth(
    gql: GraphQLClient, settings: Settings
) -> None:
    await gql.post(nested(settings.max_query_depth))

    assert gql.last is not None
    messages = errors_of(gql.last)
    assert messages  # the unknown field `a`
    assert not any("depth" in message for message in messages), messages


async def test_depth_counts_through_fragments(gql: GraphQLClient, settings: Settings) -> None:
    levels = settings.max_query_depth + 1
    fragments = "\n".join(
        f"fragment F{i} on User {{ ... on User {{ a {{ ...F{i + 1} }} }} }}"
        for i in range(1, levels)
    )
    query = f"query Deep {{ me {{ ...F1 }} }}\n{fragments}\nfragment F{levels} on User {{ id }}"

    await gql.post(query)

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert f"'Deep' exceeds maximum operation depth of {settings.max_query_depth}" in errors_of(
        gql.last
    )


async def test_an_introspection_like_alias_does_not_escape_the_depth_limit(
    gql: GraphQLClient, settings: Settings
) -> None:
    # Introspection fields are exempt by *name*; an alias starting with `__` must not be.
    await gql.post(nested(settings.max_query_depth + 1, top="__deep: me"))

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert any("exceeds maximum operation depth" in m for m in errors_of(gql.last))


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[StatementCounter]:
    counter = StatementCounter()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def shallow_app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with max_query_depth=2, so that a valid query of the schema can break it."""
    application = create_app(settings.model_copy(update={"max_query_depth": 2}))
    async with application.router.lifespan_context(application):
        yield application


async def test_valid_query_over_the_depth_limit_runs_no_sql(
    client: httpx.AsyncClient, shallow_app: Starlette, sign_up: SignUp
) -> None:
    admin = await sign_up(role="admin")
    headers = {"authorization": f"Bearer {admin.access_token}", "accept": GRAPHQL_RESPONSE}
    engine: AsyncEngine = shallow_app.state.services.sessions.kw["bind"]
    transport = httpx.ASGITransport(app=shallow_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as shallow:
        # Warm up: the first request also opens the pool's connection.
        await shallow.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        with counting(engine) as auth_only:
            await shallow.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        with counting(engine) as allowed:
            within = await shallow.post(
                "/graphql", json={"query": "{ users { edges { cursor } } }"}, headers=headers
            )
        with counting(engine) as refused:
            deep = await shallow.post(
                "/graphql",
                json={"query": "{ users { edges { node { name } } } }"},
                headers=headers,
            )

    assert within.status_code == 200
    assert len(within.json()["data"]["users"]["edges"]) == 1
    assert allowed.count > auth_only.count  # executing `users` does run SQL
    assert deep.status_code == 400
    assert errors_of(deep) == ["'anonymous' exceeds maximum operation depth of 2"]
    assert refused.count == auth_only.count  # only the token's session lookup


# -- Aliases ------------------------------------------------------------------------------------


async def test_too_many_aliases_are_refused_before_execution(
    gql: GraphQLClient,
    settings: Settings,
    services: Services,
    count_statements: StatementCounter,
) -> None:
    count = settings.max_aliases + 1
    fields = " ".join(f"r{i}: " + REGISTER_FIELD.format(i=i) for i in range(count))

    await gql.post(f"mutation {{ {fields} }}")

    assert gql.last is not None
    assert gql.last.status_code == 400
    # (Aliased registers are also more than one auth field: schema/auth_fields.py says so too.)
    assert f"{count} aliases found. Allowed: {settings.max_aliases}" in errors_of(gql.last)
    assert count_statements.count == 0
    assert await user_count(services) == 0


async def test_aliases_up_to_the_limit_are_allowed(gql: GraphQLClient, settings: Settings) -> None:
    fields = " ".join(f"m{i}: me {{ id }}" for i in range(settings.max_aliases))

    data = await gql.data(f"{{ {fields} }}")

    assert data == {f"m{i}": None for i in range(settings.max_aliases)}


async def test_aliases_in_fragments_count_once_per_spread(
    gql: GraphQLClient, settings: Settings
) -> None:
    # 2 spreads of a fragment with `max_aliases // 2 + 1` aliases: over the limit only in total.
    per_fragment = settings.max_aliases // 2 + 1
    aliases = " ".join(f"x{i}: id" for i in range(per_fragment))
    query = f"{{ a: me {{ ...F }} b: me {{ ...F }} }} fragment F on User {{ {aliases} }}"

    await gql.post(query)

    assert gql.last is not None
    assert gql.last.status_code == 400
    total = 2 + 2 * per_fragment
    assert errors_of(gql.last) == [f"{total} aliases found. Allowed: {settings.max_aliases}"]


# -- Tokens -------------------------------------------------------------------------------------


async def test_too_many_tokens_are_refused_before_execution(
    gql: GraphQLClient,
    settings: Settings,
    services: Services,
    count_statements: StatementCounter,
) -> None:
    padding = "user { id } " * (settings.max_query_tokens // 4)
    query = "mutation { " + REGISTER_FIELD.format(i=0).replace("user { id }", padding) + " }"

    body = await gql.post(query)

    assert gql.last is not None
    assert gql.last.status_code == 400
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert f"more than {settings.max_query_tokens} tokens" in error["message"]
    assert count_statements.count == 0
    assert await user_count(services) == 0


async def test_token_limit_boundary(gql: GraphQLClient, settings: Settings) -> None:
    def with_tokens(count: int) -> str:
        return "{ me { " + "id " * (count - 5) + "} }"  # `{ me {` and `} }` are 5 tokens

    at_limit = await gql.post(with_tokens(settings.max_query_tokens))
    over_limit = await gql.post(with_tokens(settings.max_query_tokens + 1))

    # (At the limit, graphql-core's own budget for comparing 1995 same-named fields may abort
    # validation: any error but the token limit is fine here.)
    assert not any("tokens" in error["message"] for error in at_limit.get("errors", []))
    assert gql.last is not None
    assert gql.last.status_code == 400
    assert f"more than {settings.max_query_tokens} tokens" in over_limit["errors"][0]["message"]


# -- Fragment bombs -----------------------------------------------------------------------------


def doubling_fragments(levels: int, leaf: str = "id") -> str:
    """`F{k}` spreads `F{k-1}` twice: `levels` short fragments expand to 2**levels leaves."""
    fragments = [f"fragment F0 on User {{ {leaf} }}"] + [
        f"fragment F{k} on User {{ ...F{k - 1} ...F{k - 1} }}" for k in range(1, levels + 1)
    ]
    return f"{{ me {{ ...F{levels} }} }}\n" + "\n".join(fragments)


async def test_fragment_bomb_is_validated_in_linear_time(gql: GraphQLClient) -> None:
    # Walking every spread would visit 2**20 fragments: seconds of blocked event loop.
    started = time.perf_counter()
    data = await gql.data(doubling_fragments(20))
    elapsed = time.perf_counter() - started

    assert data == {"me": None}
    assert elapsed < 1.0


async def test_aliases_multiplied_by_a_fragment_bomb_are_counted(
    gql: GraphQLClient, settings: Settings
) -> None:
    started = time.perf_counter()
    await gql.post(doubling_fragments(20, leaf="x: id"))
    elapsed = time.perf_counter() - started

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert errors_of(gql.last) == [f"{2**20} aliases found. Allowed: {settings.max_aliases}"]
    assert elapsed < 1.0


async def test_fragment_cycle_is_a_validation_error(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ me { ...A } } fragment A on User { id ...B } fragment B on User { name ...A }"
    )

    assert gql.last is not None
    assert gql.last.status_code == 400
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes == {"GRAPHQL_VALIDATION_FAILED"}
    assert any("Cannot spread fragment" in error["message"] for error in body["errors"])


async def test_unknown_fragment_is_a_validation_error(gql: GraphQLClient) -> None:
    body = await gql.post("{ me { ...Missing } }")

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert body == {
        "errors": [
            {
                "message": "Unknown fragment 'Missing'.",
                "locations": [{"line": 1, "column": 11}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }


# -- Introspection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="default"),
        pytest.param(
            {
                "descriptions": True,
                "specified_by_url": True,
                "directive_is_repeatable": True,
                "schema_description": True,
                "input_value_deprecation": True,
            },
            id="all-options",
        ),
    ],
)
async def test_graphiql_introspection_query_is_allowed_in_development(
    gql: GraphQLClient, count_statements: StatementCounter, options: dict[str, bool]
) -> None:
    data = await gql.data(get_introspection_query(**options))

    type_names = {t["name"] for t in data["__schema"]["types"]}
    assert {"Query", "Mutation", "User", "UserConnection", "RegisterInput"} <= type_names
    assert data["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}
    assert count_statements.count == 0


async def test_deep_introspection_is_not_limited_by_depth(
    gql: GraphQLClient, settings: Settings
) -> None:
    # `ofType` chains nest deeper than the limit; the schema, not the client, bounds them.
    of_type = (
        "ofType { " * (settings.max_query_depth + 1)
        + "name"
        + " }" * (settings.max_query_depth + 1)
    )

    data = await gql.data(f'{{ __type(name: "User") {{ fields {{ type {{ {of_type} }} }} }} }}')

    assert data["__type"]["fields"]


# -- Directives ---------------------------------------------------------------------------------


async def test_fifty_skips_are_one_error(gql: GraphQLClient, settings: Settings) -> None:
    skips = " ".join(["@skip(if: false)"] * 50)

    await gql.post(f"{{ me {skips} {{ id }} }}")

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert errors_of(gql.last) == [
        f"50 directives at one location. Allowed: {settings.max_directives}"
    ]


async def test_a_repeated_directive_is_one_error(gql: GraphQLClient) -> None:
    body = await gql.post("{ me @skip(if: false) @skip(if: true) @skip(if: true) { id } }")

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert body["errors"] == [
        {
            "message": "The directive '@skip' can only be used once at this location.",
            "locations": [{"line": 1, "column": 23}],  # the second one
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        }
    ]


async def test_directives_within_the_limits_work(gql: GraphQLClient, settings: Settings) -> None:
    # One of each per position, at as many positions as the document likes.
    fields = " ".join(
        f"m{i}: me @skip(if: false) @include(if: true) {{ id @include(if: true) }}"
        for i in range(settings.max_aliases)
    )

    data = await gql.data(f"query Q {{ {fields} }}")

    assert data == {f"m{i}": None for i in range(settings.max_aliases)}


async def test_the_directive_limit_is_a_setting(settings: Settings) -> None:
    async with app_client(settings, max_directives=1) as gql:
        body = await gql.post("{ me @skip(if: false) @include(if: true) { id } }")

    assert [e["message"] for e in body["errors"]] == ["2 directives at one location. Allowed: 1"]


# -- Document length ----------------------------------------------------------------------------


async def test_a_1_mb_padded_document_is_refused_before_parsing(
    client: httpx.AsyncClient,
    settings: Settings,
    sign_up: SignUp,
    count_statements: StatementCounter,
) -> None:
    account = await sign_up()
    # Unparseable after the comment: a parser would answer GRAPHQL_PARSE_FAILED, not 413.
    document = "#" + "x" * 1_000_000 + "\n{ me { id "
    count_statements.statements.clear()

    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        json={"query": document},
        headers={"accept": GRAPHQL_RESPONSE, "authorization": f"Bearer {account.access_token}"},
    )
    elapsed = time.perf_counter() - started

    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {
                "message": f"The GraphQL document is {len(document)} characters, over the limit "
                f"of {settings.max_document_length}.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
    assert count_statements.count == 0  # not even the token's session lookup
    assert elapsed < 1.0


async def test_document_length_limit_boundary(gql: GraphQLClient, settings: Settings) -> None:
    def padded(length: int) -> str:
        query = "{ me { id } }\n#"
        return query + "x" * (length - len(query))

    at_limit = await gql.post(padded(settings.max_document_length))
    assert "errors" not in at_limit, at_limit

    await gql.post(padded(settings.max_document_length + 1))
    assert gql.last is not None
    assert gql.last.status_code == 413


async def test_a_long_document_over_get_is_refused_too(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    document = "{ me { id } }#" + "x" * settings.max_document_length

    response = await client.get("/graphql", params={"query": document})

    assert response.status_code == 413
    assert "over the limit" in response.json()["errors"][0]["message"]


async def test_nesting_too_deep_for_the_parser_is_a_parse_error(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    # 300 levels in 900 tokens: within the token limit, beyond graphql-core's nesting limit.
    body = await gql.post("{ " + "me { " * 300 + "id" + " }" * 300 + " }")

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_PARSE_FAILED"]
    assert "Traceback" not in caplog.text
