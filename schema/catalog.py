"""Catalog types and queries: categories, products, money and ratings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, cast

import strawberry
from strawberry import Parent
from strawberry.scalars import JSON

from db.catalog import Category, Product
from db.reviews import Review
from resolvers.catalog import queries as resolve
from resolvers.context import Info
from resolvers.dataloader import MaybeAwaitable
from resolvers.pagination import Page, PageArgs
from resolvers.prefetch import prefetch_object, prefetch_page
from resolvers.relations import (
    CATEGORY_CHILDREN,
    CATEGORY_PARENT,
    CATEGORY_PRODUCTS,
    PRODUCT_CATEGORY,
    PRODUCT_REVIEWS,
    related,
    related_page,
)
from schema.catalog_inputs import (
    ProductFilter,
    ProductSort,
    ProductStatusEnum,
    filter_data,
    sort_of,
)
from schema.node import Node
from schema.permissions import IsStaff
from schema.relay import Connection
from schema.reviews import ReviewSort, ReviewType


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
        return related(info, root, PRODUCT_CATEGORY)

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
        verified_only: Annotated[
            bool, strawberry.argument(description="Only reviews by verified purchasers.")
        ] = False,
        sort: ReviewSort = ReviewSort.NEWEST,
    ) -> MaybeAwaitable[Page[Review]]:
        args = PageArgs(first, after, last, before)
        if verified_only or sort is ReviewSort.VERIFIED_FIRST:  # the loader: NEWEST only
            return resolve.product_reviews(
                info.context,
                root.id,
                args,
                verified_only=verified_only,
                verified_first=sort is ReviewSort.VERIFIED_FIRST,
            )
        return related_page(info, root, PRODUCT_REVIEWS, args)


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
        return related(info, root, CATEGORY_PARENT)

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
        return related_page(info, root, CATEGORY_CHILDREN, PageArgs(first, after, last, before))

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
        if sort is not None:  # the loader serves the default order only
            field, direction = sort_of(sort)
            return resolve.category_products(info.context, root.id, args, field, direction)
        return related_page(info, root, CATEGORY_PRODUCTS, args)

    @strawberry.field(
        graphql_type=int, description="Visible products in this category and all below it."
    )
    def product_count(self, root: Parent[Category], info: Info) -> MaybeAwaitable[int]:
        return info.context.loaders.product_count_by_category.value_or_load(root.id)


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
        product = await resolve.product_by(info.context, id=id, slug=slug)
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
        page = await resolve.list_categories(
            info.context,
            PageArgs(first, after, last, before),
            parent_id=parent_id,
            roots_only=roots_only,
        )
        return await prefetch_page(info, page, "Category")

    @strawberry.field(graphql_type=LazyCategory | None)
    async def category(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Category | None:
        category = await resolve.category_by(info.context, id=id, slug=slug)
        await prefetch_object(info, category, "Category")
        return category
