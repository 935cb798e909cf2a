"""Catalog types and queries: categories, products, money and ratings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, cast

import strawberry
from strawberry import Parent
from strawberry.scalars import JSON

from app.context import Info
from db.catalog import Category, Product
from db.reviews import Review
from resolvers import catalog as resolve
from resolvers.pagination import Page, PageArgs
from schema.catalog_inputs import (
    ProductFilter,
    ProductSort,
    ProductStatusEnum,
    category_key,
    filter_data,
    sort_of,
)
from schema.errors import BadUserInput
from schema.node import Node
from schema.permissions import IsStaff
from schema.prefetch import (
    MaybeAwaitable,
    cached_or_load,
    nested_page,
    prefetch_object,
    prefetch_page,
)
from schema.relay import Connection, parse_global_id, parse_int_id
from schema.reviews import ReviewType


@strawberry.type(description="An exact amount of money: never a float.")
class Money:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")


@strawberry.type
class RatingBucket:
    stars: int
    count: int


@strawberry.type(description="Approved reviews only; kept exact with every review change.")
class Rating:
    average: float = strawberry.field(description="0 when there are no reviews.")
    count: int
    histogram: list[RatingBucket] = strawberry.field(description="One bucket per star, 1 to 5.")


@strawberry.type
class Image:
    url: str
    alt: str


# Category and Product refer to each other: one of the two references must be lazy.
LazyCategory = Annotated["CategoryType", strawberry.lazy("schema.catalog")]


@strawberry.type(name="Product")
class ProductType(Node):
    sku: str
    name: str
    slug: str
    description: str
    status: ProductStatusEnum  # type: ignore[valid-type]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Product)

    # Plain attributes, read from the model's properties (see db/values.py).
    money: Money = strawberry.field(name="price")
    in_stock: bool
    rating: Rating

    @strawberry.field(permission_classes=[IsStaff], description="Units on hand (staff only).")
    def stock(self, root: Parent[Product]) -> int | None:
        return root.stock

    @strawberry.field(description='Free-form attributes, e.g. {"color": "black"}.')
    def attributes(self, root: Parent[Product]) -> JSON:
        return cast(JSON, root.attributes)

    @strawberry.field
    def images(self, root: Parent[Product]) -> list[Image]:
        return [Image(url=image["url"], alt=image.get("alt", "")) for image in root.images]

    @strawberry.field(graphql_type=LazyCategory | None)
    def category(self, root: Parent[Product], info: Info) -> MaybeAwaitable[Category | None]:
        if root.category_id is None:
            return None
        return cached_or_load(info.context.loaders.category_by_id, root.category_id)

    @strawberry.field(
        graphql_type=Connection[ReviewType],
        description="Approved reviews (and the caller's own), newest first.",
    )
    def reviews(
        self,
        root: Parent[Product],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> MaybeAwaitable[Page[Review]]:
        args = PageArgs(first, after, last, before)
        return nested_page(
            info.context.loaders.reviews_by_product,
            root.id,
            args,
            lambda: resolve.product_reviews(info.context, root.id, args),
        )


@strawberry.type(name="Category")
class CategoryType(Node):
    name: str
    slug: str
    description: str
    created_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Category)

    @strawberry.field(graphql_type=LazyCategory | None)
    def parent(self, root: Parent[Category], info: Info) -> MaybeAwaitable[Category | None]:
        if root.parent_id is None:
            return None
        return cached_or_load(info.context.loaders.category_by_id, root.parent_id)

    @strawberry.field(
        graphql_type=list[LazyCategory], description="From the root down to the parent."
    )
    async def ancestors(self, root: Parent[Category], info: Info) -> list[Category]:
        loaded = await info.context.loaders.category_by_id.load_many(root.path)
        return [category for category in loaded if category is not None]

    @strawberry.field(graphql_type=Connection[LazyCategory], description="By name.")
    def children(
        self,
        root: Parent[Category],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> MaybeAwaitable[Page[Category]]:
        args = PageArgs(first, after, last, before)
        return nested_page(
            info.context.loaders.children_by_category,
            root.id,
            args,
            lambda: resolve.list_categories(
                info.context, args, parent_id=root.id, roots_only=False, unknown_parent=False
            ),
        )

    @strawberry.field(
        graphql_type=Connection[ProductType],
        description="Products directly in this category (see `products` for subtrees).",
    )
    def products(
        self,
        root: Parent[Category],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        sort: ProductSort | None = None,
    ) -> MaybeAwaitable[Page[Product]]:
        args = PageArgs(first, after, last, before)
        field, direction = sort_of(sort)
        return nested_page(
            info.context.loaders.products_by_category,
            root.id,
            args,
            lambda: resolve.list_products(
                info.context, args, resolve.ProductFilterData(category_id=root.id), field, direction
            ),
            batched=sort is None,  # the loader serves the default order only
        )

    @strawberry.field(
        graphql_type=int, description="Visible products in this category and all below it."
    )
    def product_count(self, root: Parent[Category], info: Info) -> MaybeAwaitable[int]:
        return cached_or_load(info.context.loaders.product_count_by_category, root.id)


def _one_of(id: strawberry.ID | None, slug: str | None, type_name: str) -> int | None:
    if (id is None) == (slug is None):
        raise BadUserInput(f"Pass exactly one of `id` or `slug` to look up a {type_name}.")
    if id is None:
        return None
    parse_global_id(id)
    return parse_int_id(id, type_name) or 0


@strawberry.type
class CatalogQuery:
    @strawberry.field(graphql_type=Connection[ProductType])
    async def products(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ProductFilter | None = None,
        sort: ProductSort | None = None,
    ) -> Page[Product]:
        field, direction = sort_of(sort)
        page = await resolve.list_products(
            info.context,
            PageArgs(first, after, last, before),
            filter_data(filter),
            field,
            direction,
        )
        return await prefetch_page(info, page, "Product")

    @strawberry.field(graphql_type=ProductType | None)
    async def product(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Product | None:
        key = _one_of(id, slug, "Product")
        product = await resolve.product_by(info.context, product_id=key, slug=slug)
        await prefetch_object(info, product, "Product")
        return product

    @strawberry.field(graphql_type=Connection[CategoryType])
    async def categories(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        parent_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only its children.")
        ] = None,
        roots_only: Annotated[
            bool, strawberry.argument(description="Only top-level categories.")
        ] = False,
    ) -> Page[Category]:
        parent_key, unknown = category_key(parent_id)
        page = await resolve.list_categories(
            info.context,
            PageArgs(first, after, last, before),
            parent_id=parent_key,
            roots_only=roots_only,
            unknown_parent=unknown,
        )
        return await prefetch_page(info, page, "Category")

    @strawberry.field(graphql_type=LazyCategory | None)
    async def category(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Category | None:
        key = _one_of(id, slug, "Category")
        category = await resolve.category_by(info.context, category_id=key, slug=slug)
        await prefetch_object(info, category, "Category")
        return category
