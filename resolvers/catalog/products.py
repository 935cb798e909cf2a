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
from db.constraints import insert_unique, violated_constraint
from resolvers.catalog.categories import invalid_description, locked_category
from resolvers.catalog.input import (
    MAX_ALT_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_IMAGES,
    MAX_PRICE,
    MAX_SKU_LENGTH,
    MAX_STOCK,
    MAX_URL_LENGTH,
    PRODUCT_NAME_LENGTH,
    PRODUCT_SLUG_LENGTH,
    attributes_problem,
    clean_currency,
    clean_price,
    clean_sku,
    currency_problem,
    is_stock,
    is_web_url,
)
from resolvers.catalog.slugs import free_slug, invalid_slug, is_slug, slug_taken, slugify
from resolvers.context import Context
from resolvers.errors import ErrorCode, UserError, invalid_input, not_found, user_error
from resolvers.ids import key_of
from resolvers.results import Deleted, Outcome
from resolvers.text import clean_line, clean_multiline
from workers.events import publish_products_changed

SLUG_RETRIES = 3
UNIQUE_SKU = "uq_products_sku"
UNIQUE_SLUG = "uq_products_slug"


@dataclass(frozen=True)
class ImageData:
    url: str
    alt: str = ""


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


async def product_was_ordered(session: AsyncSession, product_id: int) -> bool:
    """Whether any order line names the product (then it can only be archived).

    Always False today: there is no orders table yet. TODO(orders issue): when orders land,
    make this an EXISTS over the order lines, run in the deleting transaction (the product row
    is locked by then), and give the order lines' foreign key ON DELETE RESTRICT as a backstop.
    """
    return False


# --- validation ---------------------------------------------------------------------------


def _check_images(images: list[ImageData]) -> tuple[list[ImageData], list[UserError]]:
    errors: list[UserError] = []
    if len(images) > MAX_IMAGES:
        errors.append(invalid_input(f"At most {MAX_IMAGES} images.", "images"))
    cleaned = []
    for index, image in enumerate(images[:MAX_IMAGES]):
        if not is_web_url(image.url):
            errors.append(
                user_error(
                    ErrorCode.INVALID_URL,
                    f"Image URLs must be absolute http(s) URLs of at most {MAX_URL_LENGTH} "
                    "characters.",
                    f"images.{index}.url",
                )
            )
        alt = clean_line(image.alt, MAX_ALT_LENGTH) if image.alt.strip() else ""
        if alt is None:
            errors.append(
                invalid_input(
                    f"Alt text must be at most {MAX_ALT_LENGTH} printable characters.",
                    f"images.{index}.alt",
                )
            )
        cleaned.append(ImageData(url=image.url, alt=alt or ""))
    return cleaned, errors


def _image_rows(images: list[ImageData]) -> list[dict[str, str]]:
    return [{"url": image.url, "alt": image.alt} for image in images]


def _check(data: ProductData) -> tuple[ProductData, int | None, list[UserError]]:
    """The cleaned input (same shape), the key of its category, and every problem found
    without the database."""
    errors: list[UserError] = []
    cleaned: dict[str, Any] = {}
    category_key = None
    if data.set_category and data.category_id is not None:
        category_key = key_of(data.category_id, "Category")
        if category_key is None:
            errors.append(not_found("category", "categoryId"))
    if data.name is not None:
        cleaned["name"] = clean_line(data.name, PRODUCT_NAME_LENGTH)
        if cleaned["name"] is None:
            errors.append(
                invalid_input(
                    f"Name must be 1 to {PRODUCT_NAME_LENGTH} printable characters.", "name"
                )
            )
    if data.sku is not None:
        cleaned["sku"] = clean_sku(data.sku)
        if cleaned["sku"] is None:
            errors.append(
                invalid_input(
                    f"SKU must be 1 to {MAX_SKU_LENGTH} letters, digits, '.', '_' or '-'.", "sku"
                )
            )
    if data.price is not None:
        cleaned["price"] = clean_price(data.price)
        if cleaned["price"] is None:
            errors.append(
                user_error(
                    ErrorCode.INVALID_PRICE,
                    f"Price must be between 0 and {MAX_PRICE}, with at most 2 decimal places.",
                    "price",
                )
            )
    if data.currency is not None:
        cleaned["currency"] = clean_currency(data.currency)
        if cleaned["currency"] is None:
            errors.append(
                user_error(
                    ErrorCode.INVALID_CURRENCY,
                    "Currency must be a supported upper-case ISO 4217 code, e.g. USD.",
                    "currency",
                )
            )
    if data.stock is not None and not is_stock(data.stock):
        errors.append(invalid_input(f"Stock must be between 0 and {MAX_STOCK}.", "stock"))
    if data.description is not None:
        cleaned["description"] = clean_multiline(data.description, MAX_DESCRIPTION_LENGTH)
        if cleaned["description"] is None:
            errors.append(invalid_description())
    if data.slug is not None and not is_slug(data.slug, PRODUCT_SLUG_LENGTH):
        errors.append(invalid_slug(PRODUCT_SLUG_LENGTH))
    if data.attributes is not None:
        problem = attributes_problem(data.attributes)
        if problem:
            errors.append(invalid_input(problem, "attributes"))
    if data.images is not None:
        cleaned["images"], image_errors = _check_images(data.images)
        errors += image_errors
    return dataclasses.replace(data, **cleaned), category_key, errors


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


def _price_in_currency(price: Decimal, currency: str) -> list[UserError]:
    problem = currency_problem(price, currency)
    return [user_error(ErrorCode.INVALID_PRICE, problem, "price")] if problem else []


# --- mutations ----------------------------------------------------------------------------


async def create_product(ctx: Context, data: ProductData) -> Outcome[Product]:
    cleaned, category_key, errors = _check(data)
    if cleaned.price is not None and cleaned.currency is not None:
        errors += _price_in_currency(cleaned.price, cleaned.currency)
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
                images=_image_rows(cleaned.images or []),
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
        if product is not None and not any(error.field == "price" for error in errors):
            currency = cleaned.currency or product.currency
            price = cleaned.price if cleaned.price is not None else product.price
            errors += _price_in_currency(price, currency)
        if errors or product is None:
            return Outcome.refused(*errors)

        for name in ("name", "sku", "slug", "price", "currency", "stock", "status", "description"):
            value = getattr(cleaned, name)
            if value is not None:
                setattr(product, name, value)
        if cleaned.attributes is not None:
            product.attributes = cleaned.attributes
        if cleaned.images is not None:
            product.images = _image_rows(cleaned.images)
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
    """Only a product never ordered; its reviews go with it (ON DELETE CASCADE)."""
    key = key_of(product_id, "Product")
    async with ctx.writer() as session:
        product = await _locked_product(session, key)
        if product is None:
            return Deleted.refused(not_found("product", "id"))
        if await product_was_ordered(session, product.id):
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
