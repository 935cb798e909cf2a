"""The cost model (schema.cost) on the real schema: what each kind of field costs, page sizes
from literals, variables and defaults, nested connections, fragments counted where spread."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import OperationDefinitionNode, get_operation_ast, parse

from schema.cost import operation_cost
from schema.root import schema

GRAPHQL = schema._schema


def cost(document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert isinstance(operation, OperationDefinitionNode)
    return operation_cost(GRAPHQL, parsed, operation, variables)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param("{ __typename }", 0, id="typename"),
        pytest.param("{ me { id name } }", 1, id="object-with-scalars"),
        pytest.param('{ product(slug: "x") { price { amount } } }', 2, id="nested-object"),
        pytest.param("{ products(first: 10) { edges { cursor } } }", 1, id="edges-without-node"),
        pytest.param("{ products(first: 10) { edges { node { id } } } }", 11, id="page"),
        pytest.param("{ products { edges { node { id } } } }", 21, id="default-page"),
        pytest.param("{ products(last: 5) { edges { node { id } } } }", 6, id="last"),
        pytest.param("{ products(first: 0) { edges { node { id } } } }", 1, id="empty-page"),
        pytest.param("{ products(first: 1000) { edges { node { id } } } }", 101, id="capped"),
        pytest.param("{ products(first: 3) { totalCount } }", 2, id="total-count"),
        pytest.param("{ products(first: 3) { pageInfo { hasNextPage } } }", 2, id="page-info"),
        pytest.param(
            "{ products(first: 10) { edges { node { category { name } } } } }", 21, id="per-item"
        ),
        pytest.param(
            "{ products(first: 10) { edges { node { reviews(first: 5) { edges { node { id } } }"
            " } } } }",
            1 + 10 * (1 + (1 + 5 * 1)),
            id="nested-connections-multiply",
        ),
        pytest.param('{ nodes(ids: ["a", "b", "c"]) { id } }', 3, id="nodes"),
        pytest.param('{ node(id: "a") { id ... on Product { price { amount } } } }', 2, id="node"),
        pytest.param(
            'mutation { logout(refreshToken: "x") { ok errors { code } } }', 2, id="mutation"
        ),
        pytest.param("{ __schema { types { name fields { name } } } }", 3, id="introspection"),
    ],
)
def test_cost_of_each_kind_of_field(document: str, expected: int) -> None:
    assert cost(document) == expected


def test_page_sizes_from_variables_and_their_defaults() -> None:
    document = "query ($n: Int = 7) { products(first: $n) { edges { node { id } } } }"

    assert cost(document, {"n": 40}) == 41
    assert cost(document, {}) == 8  # the variable's default
    assert cost(document, {"n": None}) == 21  # null: the default page
    assert cost(document, {"n": "ten"}) == 21  # refused later by coercion; counted as default
    assert cost(document, {"n": True}) == 21


def test_ids_from_a_variable() -> None:
    document = "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }"

    assert cost(document, {"ids": ["a"] * 30}) == 30
    assert cost(document, {"ids": ["a"] * 500}) == 100  # more are refused by the resolver


def test_fragments_count_where_spread_with_the_page_they_are_spread_in() -> None:
    document = """
    { a: products(first: 10) { ...Page } b: products(first: 2) { ...Page } }
    fragment Page on ProductConnection { totalCount edges { node { ...Card } } }
    fragment Card on Product { category { name } }
    """

    assert cost(document) == (1 + 1 + 10 * 2) + (1 + 1 + 2 * 2)


def test_inline_fragments_on_a_connection_are_multiplied_too() -> None:
    document = "{ products(first: 4) { ... on ProductConnection { edges { node { id } } } } }"

    assert cost(document) == 5


def test_a_fragment_bomb_is_costed_in_linear_time() -> None:
    levels = 25
    fragments = ["fragment F0 on Product { category { name } }"] + [
        f"fragment F{k} on Product {{ ...F{k - 1} ...F{k - 1} }}" for k in range(1, levels + 1)
    ]
    document = f'{{ product(slug: "x") {{ ...F{levels} }} }}\n' + "\n".join(fragments)

    started = time.perf_counter()
    total = cost(document)
    elapsed = time.perf_counter() - started

    assert total == 1 + 2**levels
    assert elapsed < 0.1


def test_unknown_and_cyclic_fragments_count_nothing() -> None:
    # Validation refuses these documents; costing them must still terminate.
    assert cost("{ me { ...Missing } }") == 1
    assert cost("{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }") == 1


def test_the_storefront_listing_of_the_readme() -> None:
    listing = """
    query Listing($after: String) {
      products(first: 20, after: $after, sort: {field: CREATED_AT, direction: DESC}) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node {
          id name price { amount currency } inStock
          category { name parent { name } }
          rating { average count }
          reviews(first: 3) { edges { node { rating title author { name } } } }
        } }
      }
    }
    """
    # Per product: itself 1, price 1, category 2, rating 1, reviews 1 + 3 x (review 1 + author 1).
    assert cost(listing) == 1 + 1 + 1 + 20 * (1 + 1 + 2 + 1 + 7)
