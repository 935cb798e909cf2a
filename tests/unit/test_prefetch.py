"""Prefetching (resolvers.prefetch) and relations (resolvers.relations).

The selection helpers and `Relation.page_key` are plain functions, tested on values built here.
`related` / `related_page` / `prefetch` need a real request's `Info`: they are tested through the
HTTP API against real PostgreSQL, counting the statements a page costs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from db.catalog import Category, Product
from resolvers.context import Services
from resolvers.pagination import encode_cursor
from resolvers.prefetch import fields_of, node_selections
from resolvers.relations import (
    CATEGORY_CHILDREN,
    CATEGORY_PARENT,
    CATEGORY_PRODUCTS,
    PRODUCT_CATEGORY,
    PRODUCT_REVIEWS,
    RELATIONS,
    REVIEW_AUTHOR,
    REVIEW_PRODUCT,
)
from tests.support.catalog import EPOCH, Catalog, build_catalog, error_codes, gid
from tests.support.database import StatementCounter
from tests.support.graphql import GraphQLClient

# --- selections --------------------------------------------------------------------------------


def field(name: str, *selections: Selection, alias: str | None = None) -> SelectedField:
    return SelectedField(
        name=name, directives={}, arguments={}, selections=list(selections), alias=alias
    )


def spread(name: str, *selections: Selection) -> FragmentSpread:
    return FragmentSpread(
        name=name, type_condition="Product", directives={}, selections=list(selections)
    )


def inline(*selections: Selection, on: str | None = None) -> InlineFragment:
    return InlineFragment(type_condition=on, selections=list(selections), directives={})


def field_names(selections: list[Selection]) -> list[str]:
    return [selected.name for selected in fields_of(selections)]


def test_fields_of_flattens_fragments_but_not_sub_selections() -> None:
    selections: list[Selection] = [
        field("name"),
        spread("Parts", field("price"), inline(field("category", field("parent")))),
        inline(field("reviews", field("edges")), on="Product"),
        inline(inline(spread("Deep", field("sku")))),
        field("name", alias="title"),
    ]
    assert field_names(selections) == ["name", "price", "category", "reviews", "sku", "name"]
    assert field_names([]) == []
    assert field_names([spread("Empty")]) == []


def test_node_selections_are_what_edges_node_selects_through_fragments() -> None:
    author = field("author", field("name"))
    on_review = inline(field("rating"), on="Review")
    connection = field(
        "reviews",
        field("totalCount"),
        field("pageInfo", field("hasNextPage")),
        field("edges", field("cursor"), field("node", field("title"), author)),
        spread("MoreEdges", field("edges", inline(field("node", on_review)))),
        # `node` outside `edges` is not a node of the connection.
        field("node", field("ignored")),
    )
    selected = node_selections(connection)
    assert selected[:2] == [field("title"), author]
    assert selected[2] is on_review  # fragments are handed on as they are
    assert field_names(selected) == ["title", "author", "rating"]


def test_node_selections_of_a_connection_without_nodes_are_empty() -> None:
    assert node_selections(field("reviews", field("totalCount"))) == []
    assert node_selections(field("reviews", field("edges", field("cursor")))) == []


# --- Relation.page_key ---------------------------------------------------------------------------

PRODUCT = Product(id=7, category_id=3)
CATEGORY = Category(id=3, parent_id=None)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, (7, 20)),
        ({"first": None, "after": None, "last": None, "before": None}, (7, 20)),
        ({"first": 3}, (7, 3)),
        ({"first": "3"}, (7, 3)),  # a literal arrives as its source text
        ({"first": 0}, (7, 0)),
        ({"first": 100}, (7, 100)),
        ({"first": "100"}, (7, 100)),
        ({"first": 101}, None),
        ({"first": "101"}, None),
        ({"first": -1}, None),
        ({"first": "three"}, None),
        ({"first": "2.5"}, None),
        ({"first": [2]}, None),
        ({"first": 2, "after": "abc"}, None),
        ({"first": 2, "before": "abc"}, None),
        ({"last": 2}, None),
        ({"first": 2, "last": 2}, None),
    ],
)
def test_page_key_of_a_connection(arguments: dict[str, Any], expected: object) -> None:
    assert PRODUCT_REVIEWS.page_key(PRODUCT, arguments) == expected


def test_page_key_is_none_for_arguments_only_the_field_s_own_query_serves() -> None:
    sort = {"field": "PRICE", "direction": "ASC"}
    assert CATEGORY_PRODUCTS.page_key(CATEGORY, {"first": 5, "sort": sort}) is None
    assert CATEGORY_PRODUCTS.page_key(CATEGORY, {"first": 5, "sort": None}) == (3, 5)
    # `sort` is not an argument of Product.reviews: it is not looked at there.
    assert PRODUCT_REVIEWS.page_key(PRODUCT, {"first": 5, "sort": sort}) == (7, 5)
    assert CATEGORY_CHILDREN.page_key(CATEGORY, {"first": "4"}) == (3, 4)


def test_relations_are_declared_once_by_owner_and_field() -> None:
    assert RELATIONS[("Product", "category")] is PRODUCT_CATEGORY
    assert RELATIONS[("Review", "author")] is REVIEW_AUTHOR
    assert len(RELATIONS) == 7
    connections = {key for key, relation in RELATIONS.items() if relation.connection}
    assert connections == {
        ("Product", "reviews"),
        ("Category", "children"),
        ("Category", "products"),
    }
    assert PRODUCT_CATEGORY.key(PRODUCT) == 3
    assert CATEGORY_PARENT.key(CATEGORY) is None  # a root: nothing to load
    assert REVIEW_PRODUCT.target == "Product"


# --- prefetch over HTTP ------------------------------------------------------------------------

LISTING = """
query Listing($first: Int!) {
  products(first: $first) { edges { node {
    name
    category { name parent { name } }
    reviews(first: 2) {
      pageInfo { hasNextPage hasPreviousPage }
      edges { node { title author { name } } }
    }
  } } }
}
"""

# The same through fragments, a variable page size and an alias.
LISTING_WITH_FRAGMENTS = """
query Listing($first: Int!, $reviews: Int) {
  products(first: $first) { edges { ...ProductEdge } }
}
fragment ProductEdge on ProductEdge { node { ...ProductParts } }
fragment ProductParts on Product {
  name
  category { ... on Category { name parent { name } } }
  latest: reviews(first: $reviews) {
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { ... on Review { title author { name } } } }
  }
}
"""


async def cost(
    gql: GraphQLClient, counter: StatementCounter, query: str, variables: dict[str, Any]
) -> tuple[int, Any]:
    counter.statements.clear()
    data = await gql.data(query, variables)
    return counter.count, data


def check_listing(data: Any, catalog: Catalog, reviews: str = "reviews") -> None:
    parents = {catalog.leaf.name: catalog.child.name, catalog.child.name: catalog.root.name}
    for edge in data["products"]["edges"]:
        node = edge["node"]
        category = node["category"]
        assert category["parent"] == {"name": parents[category["name"]]}
        page = node[reviews]
        # Reviewer 1's review is pending; the approved ones newest first: 3, 2, then 0.
        assert [e["node"]["author"]["name"] for e in page["edges"]] == ["Reviewer 3", "Reviewer 2"]
        assert [e["node"]["title"] for e in page["edges"]] == ["Review 3", "Review 2"]
        assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}


@pytest.mark.parametrize(
    ("query", "extra", "reviews"),
    [(LISTING, {}, "reviews"), (LISTING_WITH_FRAGMENTS, {"reviews": 2}, "latest")],
)
async def test_nested_relations_cost_the_same_statements_for_3_and_30_products(
    gql: GraphQLClient,
    services: Services,
    count_statements: StatementCounter,
    query: str,
    extra: dict[str, Any],
    reviews: str,
) -> None:
    catalog = await build_catalog(services, products=36, reviews_per_product=4, users=4)

    few, few_data = await cost(gql, count_statements, query, {"first": 3, **extra})
    lots, lots_data = await cost(gql, count_statements, query, {"first": 30, **extra})

    assert len(few_data["products"]["edges"]) == 3
    assert len(lots_data["products"]["edges"]) == 30  # every published product
    check_listing(few_data, catalog, reviews)
    check_listing(lots_data, catalog, reviews)
    assert few == lots, (few, lots)
    # The page, the categories with their ancestors, the reviews, their authors.
    assert lots <= 4, count_statements.statements


LATER_PAGES = """
query Later($first: Int!, $after: String) {
  products(first: $first) { edges { node {
    name
    first: reviews(first: 2) { edges { node { author { name } } } }
    after: reviews(first: 2, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      edges { node { author { name } } }
    }
    last: reviews(last: 1) {
      pageInfo { hasNextPage hasPreviousPage }
      edges { node { author { name } } }
    }
  } } }
}
"""


def authors(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["author"]["name"] for edge in page["edges"]]


async def test_nested_later_pages_answer_beside_prefetched_first_pages(
    gql: GraphQLClient, services: Services
) -> None:
    await build_catalog(services, products=8, reviews_per_product=4, users=4)
    # A position between every product's second and third newest approved review (all
    # products' reviews share their creation times): each answers with its oldest two.
    between = encode_cursor([EPOCH + timedelta(days=1, hours=2, minutes=30), 0])

    data = await gql.data(LATER_PAGES, {"first": 5, "after": between})

    edges = data["products"]["edges"]
    assert len(edges) == 5
    for edge in edges:
        node = edge["node"]
        assert authors(node["first"]) == ["Reviewer 3", "Reviewer 2"]
        assert authors(node["after"]) == ["Reviewer 2", "Reviewer 0"]
        assert node["after"]["totalCount"] == 3
        assert node["after"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
        assert authors(node["last"]) == ["Reviewer 0"]
        assert node["last"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}


PRODUCT_REVIEW_PAGES = """
query Pages($id: ID!, $after: String) {
  product(id: $id) {
    name
    category { name parent { name parent { name } } ancestors { name } }
    page1: reviews(first: 2) {
      pageInfo { hasNextPage endCursor }
      edges { node { author { name } product { name } } }
    }
    page2: reviews(first: 2, after: $after) {
      pageInfo { hasNextPage hasPreviousPage }
      edges { node { author { name } } }
    }
  }
}
"""


async def test_a_product_s_second_page_follows_its_first_through_a_real_cursor(
    gql: GraphQLClient, services: Services, count_statements: StatementCounter
) -> None:
    catalog = await build_catalog(services, products=6, reviews_per_product=4, users=4)
    laptop = catalog.products[1]  # published, in Laptops
    variables: dict[str, Any] = {"id": gid("Product", laptop.id), "after": None}
    first = (await gql.data(PRODUCT_REVIEW_PAGES, variables))["product"]
    cursor = first["page1"]["pageInfo"]["endCursor"]

    count_statements.statements.clear()
    product = (await gql.data(PRODUCT_REVIEW_PAGES, {**variables, "after": cursor}))["product"]

    assert product["category"] == {
        "name": "Laptops",
        "parent": {"name": "Computers", "parent": {"name": "Electronics"}},
        "ancestors": [{"name": "Electronics"}, {"name": "Computers"}],
    }
    assert authors(product["page1"]) == ["Reviewer 3", "Reviewer 2"]
    assert {e["node"]["product"]["name"] for e in product["page1"]["edges"]} == {laptop.name}
    assert product["page1"]["pageInfo"]["hasNextPage"] is True
    assert authors(product["page2"]) == ["Reviewer 0"]
    assert product["page2"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    # The product (which primes `product_by_id`, so the reviews' `product` costs nothing); its
    # category with ancestors; the first page of reviews and their authors; the page after the
    # cursor (its own query: not prefetched); its authors.
    assert count_statements.count <= 6, count_statements.statements


async def test_an_invalid_nested_page_size_is_the_field_s_error_not_the_prefetch_s(
    gql: GraphQLClient, services: Services
) -> None:
    await build_catalog(services, products=4, reviews_per_product=1, users=1)
    query = "{ products(first: 2) { edges { node { name reviews(first: 101) { totalCount } } } } }"
    body = await gql.post(query)
    assert set(error_codes(body)) == {"BAD_USER_INPUT"}
    assert body["data"] is None
