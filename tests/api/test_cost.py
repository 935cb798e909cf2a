"""The cost limit over HTTP: costly documents refused before execution with their cost and the
limit, `extensions.cost` on every response that got that far, and every query the README and
the benchmark show within the limit.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    FragmentDefinitionNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    parse,
    print_ast,
)

from app.settings import PROJECT_ROOT, Settings
from bench.queries import QUERIES, Lookup
from tests.support.apps import app_client
from tests.support.database import StatementCounter
from tests.support.graphql import GRAPHQL_RESPONSE, GraphQLClient

README = PROJECT_ROOT / "README.md"
# Errors saying a document itself is refused (by a limit, the parser or the validator).
REFUSALS = {
    "COST_LIMIT_EXCEEDED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "RATE_LIMITED",
}


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def costly(aliases: int, page: int = 100) -> str:
    """`aliases` listings of `page` products, each with its category's `page` products."""
    inner = f"products(first: {page}) {{ edges {{ node {{ name }} }} }}"
    field = f"products(first: {page}) {{ edges {{ node {{ name category {{ {inner} }} }} }} }}"
    return "{ " + " ".join(f"a{i}: {field}" for i in range(aliases)) + " }"


# -- The limit ----------------------------------------------------------------------------------


async def test_a_document_over_the_cost_limit_is_refused_before_execution(
    gql: GraphQLClient, settings: Settings, count_statements: StatementCounter
) -> None:
    per_alias = 1 + 100 * (1 + 1 + (1 + 100 * 1))

    started = time.perf_counter()
    body = await gql.post(costly(settings.max_aliases))
    elapsed = time.perf_counter() - started

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert "data" not in body
    requested = settings.max_aliases * per_alias
    assert body["errors"] == [
        {
            "message": f"This operation costs {requested}, over the limit of "
            f"{settings.max_query_cost}: ask for fewer items (first/last) or fewer nested lists.",
            "extensions": {"code": "COST_LIMIT_EXCEEDED"},
        }
    ]
    assert body["extensions"] == {
        "cost": {"requested": requested, "limit": settings.max_query_cost}
    }
    assert count_statements.count == 0
    assert elapsed < 1.0


async def test_the_issues_183_mb_document_is_refused_quickly_without_sql(
    gql: GraphQLClient, count_statements: StatementCounter
) -> None:
    # As reported: 30 aliases of three nested listings of 100 products (3 KB; 183 MB and 48 s
    # of answer before the limits).
    card = "id name slug price { amount currency } inStock"
    level3 = f"products(first: 100) {{ edges {{ node {{ {card} }} }} }}"
    level2 = f"products(first: 100) {{ edges {{ node {{ {card} category {{ {level3} }} }} }} }}"
    level1 = f"products(first: 100) {{ edges {{ node {{ {card} category {{ {level2} }} }} }} }}"
    document = "{ " + " ".join(f"p{i}: {level1}" for i in range(30)) + " }"
    assert 2_500 < len(document) < 12_000

    started = time.perf_counter()
    body = await gql.post(document)
    elapsed = time.perf_counter() - started

    assert gql.last is not None
    assert gql.last.status_code == 400
    assert "data" not in body
    assert set(codes(body)) <= REFUSALS
    assert count_statements.count == 0
    assert elapsed < 1.0


async def test_the_cost_depends_on_the_variables(gql: GraphQLClient, settings: Settings) -> None:
    document = """
    query ($n: Int) {
      products(first: $n) { edges { node { name reviews(first: 100) { edges { node { id } } } } } }
    }
    """
    within = await gql.post(document, {"n": 10})
    over = await gql.post(document, {"n": 100})

    assert "errors" not in within, within
    assert within["extensions"]["cost"] == {
        "requested": 1 + 10 * (1 + 1 + 100),
        "limit": settings.max_query_cost,
    }
    assert codes(over) == ["COST_LIMIT_EXCEEDED"]
    assert over["extensions"]["cost"]["requested"] == 1 + 100 * (1 + 1 + 100)


async def test_the_limit_is_a_setting(client: httpx.AsyncClient, settings: Settings) -> None:
    async with app_client(settings, max_query_cost=20) as gql:
        within = await gql.post("{ products(first: 19) { edges { node { id } } } }")
        over = await gql.post("{ products(first: 20) { edges { node { id } } } }")

    assert "errors" not in within, within
    assert within["extensions"]["cost"] == {"requested": 20, "limit": 20}
    assert codes(over) == ["COST_LIMIT_EXCEEDED"]
    assert "costs 21, over the limit of 20" in over["errors"][0]["message"]


# -- extensions.cost ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables", "requested"),
    [
        pytest.param("{ __typename }", None, 0, id="data"),
        pytest.param("{ users { totalCount } }", None, 2, id="field-error"),
        pytest.param(
            "query ($n: Int) { products(first: $n) { totalCount } }",
            {"n": "ten"},
            2,
            id="variable-coercion-error",
        ),
        pytest.param(
            'mutation { login(input: {email: "a@example.com", password: "nope nope nope"}) '
            "{ errors { code } } }",
            None,
            2,
            id="mutation",
        ),
    ],
)
async def test_every_response_that_got_that_far_says_its_cost(
    gql: GraphQLClient,
    settings: Settings,
    document: str,
    variables: dict[str, Any] | None,
    requested: int,
) -> None:
    body = await gql.post(document, variables)

    assert body["extensions"]["cost"] == {"requested": requested, "limit": settings.max_query_cost}


async def test_a_document_refused_before_costing_has_no_cost(gql: GraphQLClient) -> None:
    body = await gql.post("{ me { nope } }")

    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "extensions" not in body


# -- The documented queries ---------------------------------------------------------------------


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def readme_documents(readme: Path = README) -> list[tuple[str, str]]:
    """(name, document) of every operation of the README's example queries and curl lines."""
    text = readme.read_text()
    found: list[tuple[str, str]] = []
    examples = _section(text, "### Example queries")
    for block in re.findall(r"```graphql\n(.*?)```", examples, re.DOTALL):
        document = parse(block)
        fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
        for index, operation in enumerate(document.definitions):
            if isinstance(operation, OperationDefinitionNode):
                name = operation.name.value if operation.name else f"example {index}"
                parts = [print_ast(operation), *(print_ast(f) for f in fragments)]
                found.append((name, "\n".join(parts)))
    curl = _section(text, "### Try it with curl")
    for block in re.findall(r"```sh\n(.*?)```", curl, re.DOTALL):
        # Quoted arguments span lines: split the whole block as the shell would.
        words = shlex.split(block.replace("\\\n", " "), comments=True)
        for flag, value in itertools.pairwise(words):
            if flag == "-d":
                found.append(("curl -d", json.loads(value)["query"]))
            elif flag == "--data-urlencode" and value.startswith("query="):
                found.append(("curl -G", value.removeprefix("query=")))
    return found


def placeholder_variables(document: str) -> dict[str, Any]:
    """A value for each required variable (the documented ones are all strings)."""
    values: dict[str, Any] = {}
    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                if isinstance(variable.type, NonNullTypeNode):
                    values[variable.variable.name.value] = "x"
    return values


def test_the_readme_examples_are_all_found() -> None:
    names = [name for name, _ in readme_documents()]
    assert {"Listing", "Detail"} <= set(names)
    assert names.count("curl -d") == 3
    assert names.count("curl -G") == 1
    assert len(names) >= 12


DOCUMENTED = [
    *(
        pytest.param(document, id=f"readme-{i}-{name}")
        for i, (name, document) in enumerate(readme_documents())
    ),
    *(
        pytest.param(
            query.query,
            id=f"bench-{query.name}",
        )
        for query in QUERIES
    ),
]


@pytest.mark.parametrize("document", DOCUMENTED)
async def test_documented_queries_are_within_every_limit(
    client: httpx.AsyncClient, settings: Settings, document: str
) -> None:
    variables = {
        **placeholder_variables(document),
        **{
            key: value
            for query in QUERIES
            if query.query == document
            for key, value in query.variables.items()
            if not isinstance(value, Lookup)
        },
    }
    response = await client.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"accept": GRAPHQL_RESPONSE},
    )
    body = response.json()

    assert not set(codes(body)) & REFUSALS, body
    assert body["extensions"]["cost"]["requested"] <= settings.max_query_cost
