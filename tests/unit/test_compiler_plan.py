"""The compiler's plan cache: only queries are planned; a mutation is left to the executor
without a cache entry (each checkout's variables are new)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from graphql import parse

from resolvers.compiler import QueryCompiler
from resolvers.compiler.listing import number_literal
from resolvers.compiler.mapping import Role
from resolvers.compiler.selection import Unsupported
from schema.root import schema

PLACE = """mutation($k: String!) {
  placeOrder(input: {idempotencyKey: $k,
    shippingAddress: {name: "A", line1: "1 St", city: "C", postalCode: "1", country: "US"}}) {
    order { number } errors { code } } }"""
LISTING = "query { products(first: 2) { edges { node { id name } } } }"


def test_a_mutation_is_not_planned_nor_cached() -> None:
    compiler = QueryCompiler()
    for key in ("a", "b", "c"):
        plan = compiler.plan(schema._schema, PLACE, parse(PLACE), None, {"k": key}, Role.CUSTOMER)
        assert plan is None
    assert len(compiler) == 0


def test_a_query_is_still_planned_and_cached() -> None:
    compiler = QueryCompiler()
    plan = compiler.plan(schema._schema, LISTING, parse(LISTING), None, {}, Role.ANONYMOUS)
    assert plan is not None
    assert len(compiler) == 1


FILTERED = """query($min: Decimal, $rating: Float, $category: ID) {
  products(first: 3, filter: {priceMin: $min, priceMax: "500", ratingMin: $rating,
                              categoryId: $category}) { edges { node { id } } } }"""


def test_filter_numbers_are_written_into_the_statement() -> None:
    """No parameters for them: PostgreSQL would plan the statement again on every execution
    (resolvers/compiler/listing.py, `number_literal`)."""
    compiler = QueryCompiler()
    category = "Q2F0ZWdvcnk6NDI="  # Category:42
    variables = {"min": "10.50", "rating": 4.5, "category": category}
    plan = compiler.plan(schema._schema, FILTERED, parse(FILTERED), None, variables, Role.ANONYMOUS)
    assert plan is not None
    assert plan.params == []
    for written in ("'10.50'::numeric", "'500'::numeric", "'4.5'::numeric", "'42'::bigint"):
        assert written in plan.sql


def test_only_plain_numbers_are_written() -> None:
    assert number_literal(Decimal("1E-7"), "numeric") == "'1E-7'::numeric"
    assert number_literal(7, "bigint") == "'7'::bigint"
    for odd in (Decimal("NaN"), Decimal("-Infinity"), True):
        with pytest.raises(Unsupported):
            number_literal(odd, "numeric")
