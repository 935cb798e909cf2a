"""Catalog reads: product listings (filter, search, sort, keyset pages) and category lookups."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select
from sqlalchemy.orm import with_expression

from db.catalog import Category, Product, ProductStatus
from db.catalog_rules import MAX_PRICE
from db.product_filters import (
    ProductConditions,
    prefix_query,
    search_terms,
    similar_names,
)
from db.reviews import Review
from resolvers.context import Context
from resolvers.errors import BadUserInput, Forbidden
from resolvers.ids import key_of
from resolvers.orderings import CATEGORIES_BY_NAME, NEWEST_REVIEWS, VERIFIED_FIRST_REVIEWS
from resolvers.pagination import Page, PageArgs, SortKey, datetime_key, float_value, paginate
from resolvers.visibility import is_staff, listed_reviews, visible_products

# Cursors of a typo-tolerant (trigram) search page carry this mark, so later pages keep the mode.
TRIGRAM_CURSOR = "~"


class ProductSortField(enum.Enum):
    RELEVANCE = "RELEVANCE"
    NAME = "NAME"
    PRICE = "PRICE"
    CREATED_AT = "CREATED_AT"
    RATING = "RATING"


class SortDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


# A sort without a direction: ASC for these fields, DESC for the others.
DEFAULT_DIRECTION = {
    ProductSortField.NAME: SortDirection.ASC,
    ProductSortField.PRICE: SortDirection.ASC,
}


@dataclass(frozen=True)
class ProductFilterData:
    search: str | None = None
    # A global id (see resolvers.ids): one that names no category matches no product.
    category_id: str | None = None
    include_descendants: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    rating_min: float | None = None
    status: ProductStatus | None = None


def _check_price(value: Decimal | None, name: str) -> None:
    if value is not None and (not value.is_finite() or value < 0 or value > MAX_PRICE):
        raise BadUserInput(f"`{name}` must be a price between 0 and {MAX_PRICE}.")


def filter_conditions(viewer_is_staff: bool, data: ProductFilterData) -> list[ColumnElement[bool]]:
    _check_price(data.price_min, "priceMin")
    _check_price(data.price_max, "priceMax")
    if data.rating_min is not None and not 0 <= data.rating_min <= 5:
        raise BadUserInput("`ratingMin` must be between 0 and 5.")
    if data.status not in (None, ProductStatus.PUBLISHED) and not viewer_is_staff:
        raise Forbidden("Only staff can list unpublished products.")
    return product_conditions(data).conditions()


def product_conditions(data: ProductFilterData) -> ProductConditions:
    """The filter as plain values (validate it first with `filter_conditions`)."""
    category_id = key_of(data.category_id, "Category") if data.category_id is not None else None
    return ProductConditions(
        category_id=category_id,
        no_category_match=data.category_id is not None and category_id is None,
        include_descendants=data.include_descendants,
        price_min=data.price_min,
        price_max=data.price_max,
        in_stock=data.in_stock,
        rating_min=data.rating_min,
        status=data.status,
    )


def _rank(product: Product) -> Any:
    return product.search_rank


def sort_keys(
    field: ProductSortField, direction: SortDirection, rank: ColumnElement[Any] | None
) -> list[SortKey[Product]]:
    descending = direction is SortDirection.DESC
    tie: SortKey[Product] = SortKey(Product.id, lambda p: p.id, descending)
    if field is ProductSortField.RELEVANCE:
        if rank is None:
            raise BadUserInput("Sort by RELEVANCE needs a `search` filter.")
        return [SortKey(rank, _rank, descending, decode=float_value), tie]
    if field is ProductSortField.CREATED_AT:
        return [
            datetime_key(Product.created_at, lambda p: p.created_at, descending=descending),
            tie,
        ]
    column_of: dict[ProductSortField, tuple[Any, Any]] = {
        ProductSortField.NAME: (Product.name, lambda p: p.name),
        ProductSortField.PRICE: (Product.price, lambda p: p.price),
        ProductSortField.RATING: (Product.rating_average, lambda p: p.rating_average),
    }
    column, value_of = column_of[field]
    return [SortKey(column, value_of, descending), tie]


def _strip_mode(cursor: str | None) -> tuple[str | None, bool]:
    if cursor is not None and cursor.startswith(TRIGRAM_CURSOR):
        return cursor[len(TRIGRAM_CURSOR) :], True
    return cursor, False


def _mark_trigram(page: Page[Product]) -> Page[Product]:
    for edge in page.edges:
        edge.prefix = TRIGRAM_CURSOR
    return page


async def list_products(
    ctx: Context,
    args: PageArgs,
    data: ProductFilterData,
    field: ProductSortField | None,
    direction: SortDirection | None,
    *,
    base: Select[Any] | None = None,
) -> Page[Product]:
    viewer = ctx.user
    conditions = [visible_products(viewer), *filter_conditions(is_staff(viewer), data)]
    terms = search_terms(data.search) if data.search else []
    field = field or (ProductSortField.RELEVANCE if terms else ProductSortField.CREATED_AT)
    direction = direction or SortDirection.DESC
    statement = base if base is not None else select(Product)
    if not terms:
        if data.search is not None:
            # A search of only punctuation or spaces matches nothing.
            conditions.append(false())
            if field is ProductSortField.RELEVANCE:
                field = ProductSortField.CREATED_AT
        keys = sort_keys(field, direction, None)
        return await paginate(ctx.readers, statement.where(*conditions), keys, args)

    after, trigram_after = _strip_mode(args.after)
    before, trigram_before = _strip_mode(args.before)
    plain_args = PageArgs(args.first, after, args.last, before)
    text = " ".join(terms)
    if not (trigram_after or trigram_before):
        query = prefix_query(terms)
        # SKUs are in the vector too, squashed to one token (see db/catalog.py): the GIN index
        # answers name, SKU and description matches alike.
        rank = func.ts_rank_cd(Product.search_vector, query)
        full_text = statement.options(with_expression(Product.search_rank, rank)).where(
            *conditions, Product.search_vector.op("@@")(query)
        )
        page = await paginate(
            ctx.readers,
            full_text,
            sort_keys(field, direction, rank),
            plain_args,
        )
        info = page.page_info
        # Fall back only when nothing matched: a page of `first: 0` (asked for its totalCount)
        # has no edges, but its extra row shows there are matches.
        found = page.edges or info.has_next_page or info.has_previous_page
        if found or after is not None or before is not None:
            return page
    # Full text found nothing: fall back to trigram similarity, which forgives typos.
    similarity = func.word_similarity(text, Product.name)
    # Like the full-text search, every word must match (each one forgiving typos): the
    # similarity of the whole text alone lets "stand mouse" find every stand and every mouse.
    fuzzy = statement.options(with_expression(Product.search_rank, similarity)).where(
        *conditions, *similar_names(text, terms)
    )
    page = await paginate(
        ctx.readers,
        fuzzy,
        sort_keys(field, direction, similarity),
        plain_args,
    )
    return _mark_trigram(page)


def _one_of(id: str | None, slug: str | None, type_name: str) -> int | None:
    """The key of `id`, for lookups by exactly one of an id or a slug (0 names nothing)."""
    if (id is None) == (slug is None):
        raise BadUserInput(f"Pass exactly one of `id` or `slug` to look up a {type_name}.")
    if id is None:
        return None
    return key_of(id, type_name) or 0


async def product_by(ctx: Context, *, id: str | None, slug: str | None) -> Product | None:
    key = _one_of(id, slug, "Product")
    statement = select(Product).where(visible_products(ctx.user))
    if key is not None:
        statement = statement.where(Product.id == key)
    else:
        statement = statement.where(Product.slug == slug)
    async with ctx.readers() as session:
        product = (await session.execute(statement)).scalar_one_or_none()
    if product is not None:
        # Its reviews' `product` fields then need no statement of their own.
        ctx.loaders.product_by_id.prime(product.id, product)
    return product


async def category_products(
    ctx: Context,
    category_id: int,
    args: PageArgs,
    field: ProductSortField | None = None,
    direction: SortDirection | None = None,
) -> Page[Product]:
    """A page of the products directly in a category (the first, in the default order, batch
    in a loader)."""
    base = select(Product).where(Product.category_id == category_id)
    return await list_products(ctx, args, ProductFilterData(), field, direction, base=base)


async def product_reviews(
    ctx: Context,
    product_id: int,
    args: PageArgs,
    *,
    verified_only: bool = False,
    verified_first: bool = False,
) -> Page[Review]:
    """A page of a product's reviews beyond the first (first pages batch in a loader), or any
    page with a filter or sort: only verified purchases, or verified purchases first."""
    statement = select(Review).where(Review.product_id == product_id, listed_reviews(ctx.user))
    if verified_only:
        statement = statement.where(Review.verified_purchase.is_(True))
    keys = VERIFIED_FIRST_REVIEWS if verified_first and not verified_only else NEWEST_REVIEWS
    return await paginate(ctx.readers, statement, keys, args)


async def list_categories(
    ctx: Context, args: PageArgs, *, parent_id: str | None = None, roots_only: bool = False
) -> Page[Category]:
    """Categories by name: the children of `parent_id` (a global id), the roots, or all."""
    statement = select(Category)
    if parent_id is not None:
        parent_key = key_of(parent_id, "Category")
        statement = statement.where(
            Category.parent_id == parent_key if parent_key is not None else false()
        )
    elif roots_only:
        statement = statement.where(Category.parent_id.is_(None))
    return await paginate(ctx.readers, statement, CATEGORIES_BY_NAME, args)


async def child_categories(ctx: Context, parent_id: int, args: PageArgs) -> Page[Category]:
    """A page of a category's children beyond the first (first pages batch in a loader)."""
    statement = select(Category).where(Category.parent_id == parent_id)
    return await paginate(ctx.readers, statement, CATEGORIES_BY_NAME, args)


async def category_by(ctx: Context, *, id: str | None, slug: str | None) -> Category | None:
    key = _one_of(id, slug, "Category")
    if key is not None:
        return await ctx.loaders.category_by_id.load(key)
    async with ctx.readers() as session:
        return (
            await session.execute(select(Category).where(Category.slug == slug))
        ).scalar_one_or_none()
