"""`productUpdated`: price, stock and status of products as they change, for anyone.

The public sees stock as `inStock` (the count is for staff), so only a change of that is sent
to them.

Visibility is the catalog's (resolvers/visibility.py): the public follows published products
only, so a draft's changes never reach them; staff see every product. A product that stops
being visible (unpublished, archived, deleted) is no longer sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable, Sequence

from sqlalchemy import select

from db.catalog import Product
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.ids import key_of
from resolvers.live.streams import follow
from resolvers.visibility import visible_products
from workers.events import PRODUCTS_CHANNEL

MAX_FOLLOWED_PRODUCTS = 100


def _staff_view(product: Product) -> Hashable:
    # What a live view shows: other edits are not sent.
    return (product.price, product.currency, product.stock, product.status)


def _public_view(product: Product) -> Hashable:
    # The public sees `inStock`, not the count (staff only): a sale that leaves the product in
    # stock is not even announced to them.
    return (product.price, product.currency, product.in_stock, product.status)


async def follow_products(ctx: Context, ids: Sequence[str]) -> AsyncIterator[Product]:
    if len(ids) > MAX_FOLLOWED_PRODUCTS:
        raise BadUserInput(f"Follow at most {MAX_FOLLOWED_PRODUCTS} products per subscription.")
    keys = [key for key in (key_of(global_id, "Product") for global_id in ids) if key is not None]

    async def read(wanted: Sequence[int]) -> dict[int, Product]:
        ctx.loaders.clear()  # fields below a product read the state of this event
        statement = select(Product).where(Product.id.in_(wanted), visible_products(ctx.viewer.user))
        async with ctx.readers() as session:
            products = list((await session.execute(statement)).scalars())
        for product in products:
            ctx.loaders.product_by_id.prime(product.id, product)
        return {product.id: product for product in products}

    view = _staff_view if ctx.viewer.is_staff else _public_view
    async for product in follow(ctx.services.feed, PRODUCTS_CHANNEL, keys, read, view):
        yield product
