"""Catalog query inputs: product filters and sorts, and their translation for the resolvers."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from db.catalog import ProductStatus
from resolvers.catalog import queries as resolve

ProductStatusEnum = strawberry.enum(ProductStatus, name="ProductStatus")
ProductSortField = strawberry.enum(resolve.ProductSortField, name="ProductSortField")
SortDirection = strawberry.enum(resolve.SortDirection, name="SortDirection")


@strawberry.input
class ProductFilter:
    search: str | None = strawberry.field(
        default=None, description="Words or word beginnings in name, SKU or description."
    )
    category_id: strawberry.ID | None = None
    include_descendants: bool = strawberry.field(
        default=False, description="With categoryId: also products of its subcategories."
    )
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    rating_min: float | None = None
    status: ProductStatusEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Other than PUBLISHED: staff only."
    )


@strawberry.input
class ProductSort:
    field: ProductSortField  # type: ignore[valid-type]
    direction: SortDirection | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Default: ASC for NAME and PRICE, DESC otherwise."
    )


def sort_of(
    sort: ProductSort | None,
) -> tuple[resolve.ProductSortField | None, resolve.SortDirection | None]:
    if sort is None:
        return None, None
    field: resolve.ProductSortField = sort.field
    direction = sort.direction or resolve.DEFAULT_DIRECTION.get(field, resolve.SortDirection.DESC)
    return field, direction


def filter_data(value: ProductFilter | None) -> resolve.ProductFilterData:
    if value is None:
        return resolve.ProductFilterData()
    return resolve.ProductFilterData(
        search=value.search,
        category_id=value.category_id,
        include_descendants=value.include_descendants,
        price_min=value.price_min,
        price_max=value.price_max,
        in_stock=value.in_stock,
        rating_min=value.rating_min,
        status=value.status,
    )
