"""Shared by the order suites: products and customers straight in the database, and the
documents a storefront sends for cart and checkout."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from db.catalog import Product, ProductStatus
from db.users import Role
from resolvers.context import Services
from tests.support.catalog import gid, new_user
from tests.support.graphql import GraphQLClient

ADDRESS = {
    "name": "Ann Buyer",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postalCode": "12345",
    "country": "us",
}

CART_FIELDS = """
  id itemCount subtotal { amount currency }
  lines { id quantity available unitPrice { amount currency } lineTotal { amount }
          product { id name } }
  problems { lineId code message }
"""
ORDER_FIELDS = """
  id number status placedAt note trackingNumber
  subtotal { amount currency } shipping { amount } total { amount }
  shippingAddress { name line1 city postalCode country }
  lines { sku name quantity unitPrice { amount } lineTotal { amount } product { id } }
  events { type note actor { name } }
"""
CART = f"{{ cart {{ {CART_FIELDS} }} }}"
ADD = f"""
mutation($p: ID!, $q: Int!) {{
  addToCart(input: {{productId: $p, quantity: $q}}) {{
    cart {{ {CART_FIELDS} }} errors {{ field code message }} }}
}}"""
UPDATE_LINE = f"""
mutation($l: ID!, $q: Int!) {{
  updateCartLine(input: {{lineId: $l, quantity: $q}}) {{
    cart {{ {CART_FIELDS} }} errors {{ field code message }} }}
}}"""
PLACE = f"""
mutation($key: String!, $address: AddressInput!, $note: String) {{
  placeOrder(input: {{idempotencyKey: $key, shippingAddress: $address, note: $note}}) {{
    order {{ {ORDER_FIELDS} }} errors {{ field code message }} }}
}}"""
PAID = "mutation($id: ID!) { markOrderPaid(id: $id) { order { status } errors { field code } } }"
FULFILL = """mutation($id: ID!, $t: String!) {
  fulfillOrder(input: {id: $id, trackingNumber: $t}) {
    order { status trackingNumber } errors { field code } } }"""
CANCEL = """mutation($id: ID!, $r: String) {
  cancelOrder(input: {id: $id, reason: $r}) { order { status } errors { field code message } } }"""
CANCEL_MINE = (
    "mutation($id: ID!) { cancelMyOrder(id: $id) { order { status } errors { field code } } }"
)


async def new_product(
    services: Services,
    *,
    stock: int = 10,
    price: str = "10.00",
    status: ProductStatus = ProductStatus.PUBLISHED,
    currency: str = "USD",
    name: str | None = None,
) -> Product:
    suffix = secrets.token_hex(3)
    async with services.sessions() as session:
        product = Product(
            sku=f"SKU-{suffix}",
            name=name or f"Thing {suffix}",
            slug=f"thing-{suffix}",
            price=Decimal(price),
            currency=currency,
            stock=stock,
            status=status,
        )
        session.add(product)
        await session.commit()
    return product


async def customer(
    gql: GraphQLClient, services: Services, role: Role = Role.CUSTOMER
) -> GraphQLClient:
    """A signed-in client of a new account written straight to the database (no hashing)."""
    _, token = await new_user(services, role)
    return gql.as_user(token)


async def buyers(
    gql: GraphQLClient, services: Services, count: int
) -> list[tuple[int, GraphQLClient]]:
    """`count` signed-in customers (user id, client), written straight to the database."""
    made = await asyncio.gather(*(new_user(services) for _ in range(count)))
    return [(user.id, gql.as_user(token)) for user, token in made]


async def fill_carts(services: Services, lines: list[tuple[int, int, int]]) -> None:
    """Cart lines (customer id, product id, quantity) written straight to the database, in the
    order given: what many `addToCart` calls would leave, without their requests."""
    async with services.sessions() as session:
        await session.execute(
            text(
                "INSERT INTO carts (customer_id) SELECT DISTINCT unnest(CAST(:c AS bigint[])) "
                "ON CONFLICT DO NOTHING"
            ),
            {"c": [customer for customer, _, _ in lines]},
        )
        for customer, product, quantity in lines:
            await session.execute(
                text("INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES (:c, :p, :q)"),
                {"c": customer, "p": product, "q": quantity},
            )
        await session.commit()


async def stock_of(services: Services, product: Product) -> int:
    async with services.sessions() as session:
        result = await session.execute(
            text("SELECT stock FROM products WHERE id = :id"), {"id": product.id}
        )
        return int(result.scalar_one())


async def count_rows(services: Services, table: str) -> int:
    async with services.sessions() as session:
        return int((await session.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())


async def add(client: GraphQLClient, product: Product, quantity: int = 1) -> dict[str, Any]:
    data = await client.data(ADD, {"p": gid("Product", product.id), "q": quantity})
    payload: dict[str, Any] = data["addToCart"]
    return payload


async def place(client: GraphQLClient, key: str | None = None, **extra: Any) -> dict[str, Any]:
    variables = {"key": key or secrets.token_hex(8), "address": ADDRESS, **extra}
    body = await client.post(PLACE, variables)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def buy(client: GraphQLClient, product: Product, quantity: int = 1) -> dict[str, Any]:
    """Add to the cart and place the order; the payload of placeOrder."""
    added = await add(client, product, quantity)
    assert added["errors"] == [], added
    return await place(client)
