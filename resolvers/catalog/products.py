"""Staff writes to products: create, update (partial), archive, delete.

The whole input is validated first, typed `UserError`s come back with nothing written;
otherwise one transaction. SKU and slug uniqueness is decided by the database's unique
constraints (a concurrent create that loses the race gets SKU_TAKEN / SLUG_TAKEN), and the
product's category is row-locked (FOR SHARE) so it cannot be deleted under the write.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Product, ProductStatus
from db.catalog_rules import (
    PRODUCT_SLUG_LENGTH,
    ImageData,
    Problem,
    ProductFields,
    check_product_fields,
    image_rows,
    price_in_currency_problem,
)
from db.constraints import insert_unique, violated_constraint
from db.slugs import free_slug, is_slug, slugify
from resolvers.catalog.categories import locked_category
from resolvers.catalog.slugs import invalid_slug, slug_taken
from resolvers.context import Context
from resolvers.errors import ErrorCode, UserError, not_found, user_error
from resolvers.ids import key_of
from resolvers.orders.purchases import was_ordered
from resolvers.results import Deleted, Outcome
from workers.events import publish_products_changed

SLUG_RETRIES = 3
UNIQUE_SKU = "uq_products_sku"
UNIQUE_SLUG = "uq_products_slug"


@dataclass(frozen=True)
class ProductData:
    """A product input. For updates, None means "leave as is"; `category_id` is the exception:
    with `set_category` it is the new category's global id (None: no category)."""

    name: str | None = None
    sku: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    category_id: str | None = None
    set_category: bool = False
    stock: int | None = None
    status: ProductStatus | None = None
    description: str | None = None
    slug: str | None = None
    attributes: Any = None
    images: list[ImageData] | None = None


# --- validation ---------------------------------------------------------------------------


def _user_error(problem: Problem) -> UserError:
    return user_error(ErrorCode(problem.code), problem.message, problem.field)


def _check(data: ProductData) -> tuple[ProductData, int | None, list[UserError]]:
    """The cleaned input (same shape), the key of its category, and every problem found
    without the database: the product's own values by `db.catalog_rules` (the rules the
    import applies too), then what only a mutation input has (category id, slug)."""
    errors: list[UserError] = []
    category_key = None
    if data.set_category and data.category_id is not None:
        category_key = key_of(data.category_id, "Category")
        if category_key is None:
            errors.append(not_found("category", "categoryId"))
    fields, problems = check_product_fields(
        ProductFields(
            name=data.name,
            sku=data.sku,
            price=data.price,
            currency=data.currency,
            stock=data.stock,
            description=data.description,
            attributes=data.attributes,
            images=data.images,
        )
    )
    errors += [_user_error(problem) for problem in problems]
    if data.slug is not None and not is_slug(data.slug, PRODUCT_SLUG_LENGTH):
        errors.append(invalid_slug(PRODUCT_SLUG_LENGTH))
    cleaned = dataclasses.replace(
        data,
        name=fields.name,
        sku=fields.sku,
        price=fields.price,
        currency=fields.currency,
        description=fields.description,
        images=fields.images,
    )
    return cleaned, category_key, errors


async def _check_with_database(
    session: AsyncSession,
    data: ProductData,
    category_key: int | None,
    *,
    except_id: int | None = None,
) -> list[UserError]:
    """Category existence (locked FOR SHARE until commit) and SKU/slug uniqueness."""
    errors: list[UserError] = []
    if (
        category_key is not None
        and await locked_category(session, category_key, share=True) is None
    ):
        errors.append(not_found("category", "categoryId"))
    claims = []
    if data.sku is not None:
        claims.append(Product.sku == data.sku)
    if data.slug is not None:
        claims.append(Product.slug == data.slug)
    if claims:
        statement = select(Product.sku, Product.slug).where(or_(*claims))
        if except_id is not None:
            statement = statement.where(Product.id != except_id)
        for sku, slug in (await session.execute(statement)).all():
            if data.sku is not None and sku == data.sku:
                errors.append(_sku_taken())
            if data.slug is not None and slug == data.slug:
                errors.append(slug_taken())
    return errors


def _sku_taken() -> UserError:
    return user_error(ErrorCode.SKU_TAKEN, "Another product already has this SKU.", "sku")


def _taken(constraint: str) -> UserError:
    return _sku_taken() if constraint == UNIQUE_SKU else slug_taken()


# --- mutations ----------------------------------------------------------------------------


async def create_product(ctx: Context, data: ProductData) -> Outcome[Product]:
    cleaned, category_key, errors = _check(data)
    async with ctx.writer() as session:
        # Checked even when the input has other problems, so every problem comes back at once.
        errors += await _check_with_database(session, cleaned, category_key)
        if errors or cleaned.name is None or cleaned.sku is None or cleaned.price is None:
            return Outcome.refused(*errors)

        base = slugify(cleaned.name, PRODUCT_SLUG_LENGTH, fallback="product")
        refused = UNIQUE_SLUG
        for _attempt in range(SLUG_RETRIES):
            slug = cleaned.slug or await free_slug(session, Product.slug, base, PRODUCT_SLUG_LENGTH)
            product = Product(
                name=cleaned.name,
                sku=cleaned.sku,
                slug=slug,
                price=cleaned.price,
                currency=cleaned.currency or "USD",
                category_id=category_key,
                stock=cleaned.stock or 0,
                status=cleaned.status or ProductStatus.DRAFT,
                description=cleaned.description or "",
                attributes=cleaned.attributes or {},
                images=image_rows(cleaned.images or []),
            )
            failed = await insert_unique(session, product)
            if failed is None:
                await session.commit()
                await publish_products_changed(ctx.services.redis, [product.id])
                return Outcome(product)
            refused = failed
            # Lost a race for the slug we generated: take the next free one and try again.
            if failed != UNIQUE_SLUG or cleaned.slug is not None:
                break
        await session.rollback()
    return Outcome.refused(_taken(refused))


async def _locked_product(session: AsyncSession, product_id: int | None) -> Product | None:
    if product_id is None:
        return None
    statement = select(Product).where(Product.id == product_id).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def update_product(ctx: Context, product_id: str, data: ProductData) -> Outcome[Product]:
    """Only the fields given change."""
    key = key_of(product_id, "Product")
    cleaned, category_key, errors = _check(data)
    async with ctx.writer() as session:
        product = await _locked_product(session, key)
        if product is None:
            errors.insert(0, not_found("product", "id"))
        errors += await _check_with_database(
            session, cleaned, category_key, except_id=product.id if product else None
        )
        # A price or a currency given alone must suit the product's other one (both given
        # were checked together by `_check`).
        if (
            product is not None
            and (cleaned.price is None) != (cleaned.currency is None)
            and not any(error.field == "price" for error in errors)
        ):
            problem = price_in_currency_problem(
                cleaned.price if cleaned.price is not None else product.price,
                cleaned.currency or product.currency,
            )
            if problem:
                errors.append(_user_error(problem))
        if errors or product is None:
            return Outcome.refused(*errors)

        for name in ("name", "sku", "slug", "price", "currency", "stock", "status", "description"):
            value = getattr(cleaned, name)
            if value is not None:
                setattr(product, name, value)
        if cleaned.attributes is not None:
            product.attributes = cleaned.attributes
        if cleaned.images is not None:
            product.images = image_rows(cleaned.images)
        if cleaned.set_category:
            product.category_id = category_key
        try:
            await session.flush()
        except IntegrityError as error:
            constraint = violated_constraint(error)
            if constraint not in {UNIQUE_SKU, UNIQUE_SLUG}:
                raise
            await session.rollback()
            return Outcome.refused(_taken(constraint))
        await session.refresh(product)
        await session.commit()
    await publish_products_changed(ctx.services.redis, [product.id])
    return Outcome(product)


async def archive_product(ctx: Context, product_id: str) -> Outcome[Product]:
    """Hide a product from the public for good, keeping it (and its orders) for staff."""
    key = key_of(product_id, "Product")
    async with ctx.writer() as session:
        product = await _locked_product(session, key)
        if product is None:
            return Outcome.refused(not_found("product", "id"))
        if product.status is not ProductStatus.ARCHIVED:
            product.status = ProductStatus.ARCHIVED
            await session.flush()
            await session.refresh(product)
            await session.commit()
            await publish_products_changed(ctx.services.redis, [product.id])
    return Outcome(product)


async def delete_product(ctx: Context, product_id: str) -> Deleted:
    """Only a product never ordered (checked under the product's row lock; order lines'
    foreign key is ON DELETE RESTRICT besides); its reviews and cart lines go with it."""
    key = key_of(product_id, "Product")
    async with ctx.writer() as session:
        product = await _locked_product(session, key)
        if product is None:
            return Deleted.refused(not_found("product", "id"))
        if await was_ordered(session, product.id):
            return Deleted.refused(
                user_error(
                    ErrorCode.PRODUCT_ORDERED,
                    "This product has been ordered: archive it instead.",
                    "id",
                )
            )
        deleted_id = product.id
        await session.delete(product)
        await session.commit()
    await publish_products_changed(ctx.services.redis, [deleted_id])
    return Deleted(deleted_id)
