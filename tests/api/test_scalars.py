"""Custom scalars say their wire format in the schema (for GraphQL Code Generator's scalar
mapping), and values still travel exactly as they always did."""

from __future__ import annotations

import re
from datetime import datetime

from app.cli import SCHEMA_PATH
from tests.support.graphql import GraphQLClient, SignUp

SCALAR = "query ($name: String!) { __type(name: $name) { kind description specifiedByURL } }"
CREATE = """
mutation { createProduct(input: {name: "Travel Mug", sku: "MUG-1", price: "49.99",
  currency: "USD", stock: 3, status: PUBLISHED}) {
  product { price { amount } createdAt } errors { code } } }
"""
DATE_TIME_SPEC = "https://scalars.graphql.org/andimarek/date-time.html"


async def scalar(gql: GraphQLClient, name: str) -> dict[str, str | None]:
    found: dict[str, str | None] = (await gql.data(SCALAR, {"name": name}))["__type"]
    return found


async def test_decimal_says_it_is_an_exact_string(gql: GraphQLClient) -> None:
    decimal = await scalar(gql, "Decimal")

    assert decimal["kind"] == "SCALAR"
    assert decimal["description"] is not None
    assert 'sent as a string such as "49.99"' in decimal["description"]
    assert decimal["specifiedByURL"] is None  # no published spec for decimals


async def test_date_time_says_its_format_and_spec(gql: GraphQLClient) -> None:
    date_time = await scalar(gql, "DateTime")

    assert date_time["specifiedByURL"] == DATE_TIME_SPEC
    assert date_time["description"] is not None
    assert "with its UTC offset" in date_time["description"]


async def test_json_keeps_its_spec(gql: GraphQLClient) -> None:
    assert (await scalar(gql, "JSON"))["specifiedByURL"] == (
        "https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf"
    )


def test_the_published_sdl_says_so_too() -> None:
    sdl = SCHEMA_PATH.read_text()

    assert f'scalar DateTime @specifiedBy(url: "{DATE_TIME_SPEC}")' in sdl
    decimal_description = sdl[: sdl.index("scalar Decimal\n")].rsplit('"""', 2)[-2]
    assert 'sent as a string such as "49.99"' in decimal_description


async def test_values_travel_as_before(gql: GraphQLClient, sign_up: SignUp) -> None:
    staff = await sign_up(role="staff")

    data = await gql.data(CREATE, token=staff.access_token)

    product = data["createProduct"]["product"]
    assert product["price"]["amount"] == "49.99"  # a string, exact
    created = product["createdAt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", created), created
    assert datetime.fromisoformat(created).utcoffset() is not None
