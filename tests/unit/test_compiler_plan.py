"""The compiler's plan cache: only queries are planned; a mutation is left to the executor
without a cache entry (each checkout's variables are new)."""

from __future__ import annotations

from graphql import parse

from resolvers.compiler import QueryCompiler
from resolvers.compiler.mapping import Role
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
