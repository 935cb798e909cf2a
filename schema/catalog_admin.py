"""Staff-only catalog writes: categories (create, update, move, delete) and products (create,
update, archive, delete).

Input problems come back as `errors` in the payload with nothing written; the resolvers in
`resolvers.catalog.categories` and `resolvers.catalog.products` return the result dataclasses the
payload types below read from.
"""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry import Parent
from strawberry.scalars import JSON

from db.catalog import Category, Product, ProductStatus
from db.catalog_rules import ImageData
from resolvers.catalog import categories, products
from resolvers.catalog.products import ProductData
from resolvers.context import Info
from resolvers.results import Deleted, Outcome
from schema.catalog import CategoryType, ProductType
from schema.catalog_inputs import ProductStatusEnum
from schema.errors import UserErrorType
from schema.permissions import IsStaff
from schema.relay import to_global_id

# --- inputs -------------------------------------------------------------------------------


@strawberry.input
class CreateCategoryInput:
    name: str = strawberry.field(description="1 to 100 characters; whitespace is collapsed.")
    slug: str | None = strawberry.field(
        default=None,
        description="e.g. `laptop-stands`; generated from the name (and made unique) if omitted.",
    )
    description: str | None = None
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Omit for a top-level category."
    )


@strawberry.input(description="Only the fields given change; null means unchanged.")
class UpdateCategoryInput:
    name: str | None = None
    slug: str | None = strawberry.field(
        default=None, description="Not regenerated when the name changes: links keep working."
    )
    description: str | None = None


@strawberry.input
class ImageInput:
    url: str = strawberry.field(description="An absolute http(s) URL.")
    alt: str = ""


@strawberry.input
class CreateProductInput:
    name: str = strawberry.field(description="1 to 200 characters; whitespace is collapsed.")
    sku: str = strawberry.field(description="Letters, digits, '.', '_', '-'; stored upper-case.")
    price: Decimal = strawberry.field(
        description='A string such as "19.99": at most 2 decimal places, up to 99999999.99.'
    )
    currency: str = strawberry.field(default="USD", description="ISO 4217, e.g. USD or EUR.")
    category_id: strawberry.ID | None = None
    stock: int = 0
    status: ProductStatusEnum = ProductStatus.DRAFT  # type: ignore[valid-type]
    description: str | None = None
    slug: str | None = strawberry.field(
        default=None, description="Generated from the name (and made unique) if omitted."
    )
    attributes: JSON | None = strawberry.field(
        default=None, description='A JSON object, e.g. {"color": "black"}: at most 50 keys.'
    )
    images: list[ImageInput] | None = strawberry.field(default=None, description="At most 10.")


@strawberry.input(
    description="Only the fields given change; null means unchanged, but for categoryId."
)
class UpdateProductInput:
    name: str | None = None
    sku: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    category_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="null takes the product out of its category."
    )
    stock: int | None = None
    status: ProductStatusEnum | None = None  # type: ignore[valid-type]
    description: str | None = None
    slug: str | None = None
    attributes: JSON | None = None
    images: list[ImageInput] | None = strawberry.field(
        default=None, description="Replaces the whole list."
    )


def _images(images: list[ImageInput] | None) -> list[ImageData] | None:
    if images is None:
        return None
    return [ImageData(url=image.url, alt=image.alt) for image in images]


# --- payloads -----------------------------------------------------------------------------


@strawberry.type
class CategoryPayload:
    value: CategoryType | None = strawberry.field(name="category")
    errors: list[UserErrorType]


@strawberry.type
class ProductPayload:
    value: ProductType | None = strawberry.field(name="product")
    errors: list[UserErrorType]


def _deleted_category_id(root: Parent[Deleted]) -> strawberry.ID | None:
    return None if root.deleted_id is None else to_global_id("Category", root.deleted_id)


def _deleted_product_id(root: Parent[Deleted]) -> strawberry.ID | None:
    return None if root.deleted_id is None else to_global_id("Product", root.deleted_id)


@strawberry.type
class DeleteCategoryPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        resolver=_deleted_category_id, description="The deleted category's id; null if refused."
    )
    errors: list[UserErrorType]


@strawberry.type
class DeleteProductPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        resolver=_deleted_product_id, description="The deleted product's id; null if refused."
    )
    errors: list[UserErrorType]


# --- mutations ----------------------------------------------------------------------------


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(graphql_type=CategoryPayload, permission_classes=[IsStaff])
    async def create_category(self, info: Info, input: CreateCategoryInput) -> Outcome[Category]:
        return await categories.create_category(
            info.context,
            name=input.name,
            slug=input.slug,
            description=input.description,
            parent_id=input.parent_id,
        )

    @strawberry.mutation(graphql_type=CategoryPayload, permission_classes=[IsStaff])
    async def update_category(
        self, info: Info, id: strawberry.ID, input: UpdateCategoryInput
    ) -> Outcome[Category]:
        return await categories.update_category(
            info.context,
            id,
            name=input.name,
            slug=input.slug,
            description=input.description,
        )

    @strawberry.mutation(
        graphql_type=CategoryPayload,
        permission_classes=[IsStaff],
        description="Move a category, with everything below it, under another (null: make it "
        "top-level). Refused (CYCLE) under itself or one of its subcategories.",
    )
    async def move_category(
        self, info: Info, id: strawberry.ID, parent_id: strawberry.ID | None = None
    ) -> Outcome[Category]:
        return await categories.move_category(info.context, id, parent_id)

    @strawberry.mutation(
        graphql_type=DeleteCategoryPayload,
        permission_classes=[IsStaff],
        description="Delete an empty category: refused (CATEGORY_NOT_EMPTY) while it has "
        "subcategories or products.",
    )
    async def delete_category(self, info: Info, id: strawberry.ID) -> Deleted:
        return await categories.delete_category(info.context, id)

    @strawberry.mutation(graphql_type=ProductPayload, permission_classes=[IsStaff])
    async def create_product(self, info: Info, input: CreateProductInput) -> Outcome[Product]:
        return await products.create_product(
            info.context,
            ProductData(
                name=input.name,
                sku=input.sku,
                price=input.price,
                currency=input.currency,
                category_id=input.category_id,
                set_category=input.category_id is not None,
                stock=input.stock,
                status=input.status,
                description=input.description,
                slug=input.slug,
                attributes=input.attributes,
                images=_images(input.images),
            ),
        )

    @strawberry.mutation(graphql_type=ProductPayload, permission_classes=[IsStaff])
    async def update_product(
        self, info: Info, id: strawberry.ID, input: UpdateProductInput
    ) -> Outcome[Product]:
        category = input.category_id
        return await products.update_product(
            info.context,
            id,
            ProductData(
                name=input.name,
                sku=input.sku,
                price=input.price,
                currency=input.currency,
                category_id=category.value if category else None,
                set_category=category is not None,
                stock=input.stock,
                status=input.status,
                description=input.description,
                slug=input.slug,
                attributes=input.attributes,
                images=_images(input.images),
            ),
        )

    @strawberry.mutation(
        graphql_type=ProductPayload,
        permission_classes=[IsStaff],
        description="Hide a product from everyone but staff, keeping it for past orders.",
    )
    async def archive_product(self, info: Info, id: strawberry.ID) -> Outcome[Product]:
        return await products.archive_product(info.context, id)

    @strawberry.mutation(
        graphql_type=DeleteProductPayload,
        permission_classes=[IsStaff],
        description="Delete a product that was never ordered (else PRODUCT_ORDERED: archive "
        "it), with its reviews.",
    )
    async def delete_product(self, info: Info, id: strawberry.ID) -> Deleted:
        return await products.delete_product(info.context, id)
