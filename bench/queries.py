"""The fixed benchmark workload, kept as data so it is easy to adapt when the schema moves.

Each query is sent as a GraphQL-over-HTTP POST with a JSON body `{"query", "variables"}`.
A variable whose value is a `Lookup` is filled in at run time with the first column of the
first row of the named SQL statement in `LOOKUPS`, run against the seeded bench database (so the
workload always points at data that exists, whatever the seed produced).

If the catalog schema lands with slightly different names (check `schema.graphql`), change the
documents here; nothing else in `bench/` knows their text. The reference endpoint
(`bench/reference.py`) answers the listing, detail and flat documents, and its SQL must produce
the same shape as our API's answers (the run prints a warning when they differ).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Lookup:
    """A variable value read from the bench database: the name of a statement in `LOOKUPS`."""

    name: str


@dataclass(frozen=True)
class BenchQuery:
    name: str  # short key, also used in file names and the results JSON
    title: str  # what the table shows
    query: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    # False: a document the compiler hands to the executor (see UNCOMPILED).
    compiled: bool = True


LISTING = """
query Listing($after: String) {
  products(first: 50, after: $after, sort: {field: CREATED_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name price { amount currency } inStock
      category { id name parent { name } }
      rating { average count }
      reviews(first: 3) { edges { node { rating title author { name } } } }
    } }
  }
}
"""

DETAIL = """
query Detail($slug: String!) {
  product(slug: $slug) {
    id name description price { amount currency } inStock attributes images { url alt }
    category { name ancestors { name } }
    rating { average count histogram { stars count } }
    reviews(first: 20) {
      totalCount
      edges { node { rating title body createdAt author { name } } }
    }
  }
}
"""

FLAT = """
{ products(first: 100) { edges { node { id sku name price { amount currency } inStock } } } }
"""

SEARCH = """
query Search($search: String!) {
  products(first: 20, filter: {search: $search}, sort: {field: RELEVANCE, direction: DESC}) {
    totalCount
    edges { node { id name } }
  }
}
"""

FILTERED = """
{
  products(
    first: 20
    filter: {priceMin: "10", priceMax: "500", inStock: true, ratingMin: 4}
    sort: {field: RATING, direction: DESC}
  ) {
    edges { node { id name rating { average count } } }
  }
}
"""

# The listing asking each review's `moderationReason`, a field the compiler does not take (its
# resolver decides per viewer): the executor answers it. Run with the compiler on and with
# COMPILED_QUERIES=false, it shows what the compiler costs the queries it does not compile.
UNCOMPILED = LISTING.replace(
    "reviews(first: 3) { edges { node { rating title author { name } } } }",
    "reviews(first: 3) { edges { node { rating title moderationReason author { name } } } }",
)
assert UNCOMPILED != LISTING

QUERIES: tuple[BenchQuery, ...] = (
    BenchQuery("listing", "listing (50 + reviews)", LISTING, {"after": None}),
    BenchQuery("detail", "detail (20 reviews)", DETAIL, {"slug": Lookup("most_reviewed_slug")}),
    BenchQuery("flat", "flat list (100)", FLAT),
    BenchQuery("search", "search (20)", SEARCH, {"search": Lookup("search_word")}),
    BenchQuery("filtered", "filtered, by rating (20)", FILTERED),
    BenchQuery(
        "uncompiled",
        "listing via the executor",
        UNCOMPILED,
        {"after": None},
        compiled=False,
    ),
)

# The query the reference endpoint answers by default; its numbers are compared with this one's.
REFERENCE_QUERY = "listing"
# Every query the reference endpoint also answers (by its exact text), each compared with ours.
REFERENCE_QUERIES = ("listing", "detail", "flat", "filtered", "search")

LOOKUPS: Mapping[str, str] = {
    # The published product with the most approved reviews.
    "most_reviewed_slug": """
        SELECT p.slug
        FROM products AS p
        JOIN reviews AS r ON r.product_id = p.id AND r.status = 'approved'
        WHERE p.status = 'published'
        GROUP BY p.id
        ORDER BY count(*) DESC, p.id
        LIMIT 1
    """,
    # "wireless" when published names use it, else the commonest word of 5+ letters in them.
    "search_word": r"""
        SELECT coalesce(
          (SELECT 'wireless' WHERE EXISTS (
             SELECT FROM products WHERE status = 'published' AND name ~* '\mwireless\M')),
          (SELECT word
           FROM products, regexp_split_to_table(lower(name), '[^a-z]+') AS word
           WHERE status = 'published' AND length(word) >= 5
           GROUP BY word
           ORDER BY count(*) DESC, word
           LIMIT 1))
    """,
}


def lookups_used(queries: tuple[BenchQuery, ...] = QUERIES) -> list[str]:
    names: list[str] = []
    for query in queries:
        for value in query.variables.values():
            if isinstance(value, Lookup) and value.name not in names:
                names.append(value.name)
    return names


def resolve_variables(query: BenchQuery, values: Mapping[str, Any]) -> dict[str, Any]:
    """The query's variables with each `Lookup` replaced by its value from `values`."""
    return {
        key: values[value.name] if isinstance(value, Lookup) else value
        for key, value in query.variables.items()
    }


def request_body(query: BenchQuery, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"query": query.query, "variables": resolve_variables(query, values)}
