"""Which rows each relation reaches, and which of them a viewer may see: declared once.

A `Rows` is a table as a loader reads it: its model, the visibility rule of `resolvers.visibility`
it applies (a function of the viewer, as SQLAlchemy conditions) and the columns it loads. A
`Join` leads from an owner row to related rows: the related row's column equal to the owner's
column, and for a connection its default order. The executor's loaders (`resolvers.loaders`)
are built from these, `resolvers.relations` names the join of each relation (the map the
prefetcher reads), and the compiler (`resolvers.compiler`) writes its joins and visibility
predicates from the same objects (tests/unit/test_mapping.py holds the two paths together).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import InstrumentedAttribute

from db.base import Base
from db.catalog import Category, Product
from db.orders import Order
from db.reviews import Review
from db.users import User
from resolvers.orderings import CATEGORIES_BY_NAME, NEWEST_PRODUCTS, NEWEST_REVIEWS
from resolvers.pagination import SortKey
from resolvers.visibility import listed_reviews, visible_orders, visible_products, visible_reviews

Rule = Callable[[User | None], ColumnElement[bool]]
# A count of related rows for the owner whose id is the given column, as a viewer sees them.
Count = Callable[[ColumnElement[Any], User | None], Select[Any]]
M = TypeVar("M", bound=Base)


@dataclass(frozen=True)
class Rows(Generic[M]):
    """Rows of `model`; with `visible`, only those the viewer may see (the others read as
    missing). With `columns`, only those are loaded (the objects are then read-only views)."""

    model: type[M]
    visible: Rule | None = None
    columns: tuple[InstrumentedAttribute[Any], ...] = ()

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


@dataclass(frozen=True)
class Join:
    """Related `rows` whose `target_column` equals the owner's `owner_column`. A connection
    has an `order` (its default one); a to-one join leads to a row by its primary key."""

    owner_column: InstrumentedAttribute[Any]
    rows: Rows[Any]
    target_column: InstrumentedAttribute[Any]
    order: Sequence[SortKey[Any]] = ()

    @property
    def connection(self) -> bool:
        return bool(self.order)

    def key(self, owner: Any) -> Hashable | None:
        """The owner's value of the join column (None: nothing related)."""
        value: Hashable | None = getattr(owner, self.owner_column.key)
        return value


def sql_column(column: InstrumentedAttribute[Any]) -> str:
    """The SQL name of a mapped column."""
    return str(column.expression.name)


CATEGORIES = Rows(Category)
PRODUCTS = Rows(Product, visible_products)
# A review by its id (`node`): listed for the viewer, and of a product the viewer may see.
REVIEWS = Rows(Review, visible_reviews)
# The reviews listed under a product.
LISTED_REVIEWS = Rows(Review, listed_reviews)
USERS = Rows(User)
# Review authors: only what a public profile shows.
PROFILES = Rows(User, columns=(User.id, User.name))
ORDERS = Rows(Order, visible_orders)

PRODUCT_CATEGORY = Join(Product.category_id, CATEGORIES, Category.id)
PRODUCT_REVIEWS = Join(Product.id, LISTED_REVIEWS, Review.product_id, NEWEST_REVIEWS)
CATEGORY_PARENT = Join(Category.parent_id, CATEGORIES, Category.id)
CATEGORY_CHILDREN = Join(Category.id, CATEGORIES, Category.parent_id, CATEGORIES_BY_NAME)
CATEGORY_PRODUCTS = Join(Category.id, PRODUCTS, Product.category_id, NEWEST_PRODUCTS)
REVIEW_AUTHOR = Join(Review.user_id, PROFILES, User.id)
REVIEW_PRODUCT = Join(Review.product_id, PRODUCTS, Product.id)


def products_below(category_id: ColumnElement[Any], viewer: User | None) -> Select[Any]:
    """`Category.productCount`: how many products of the category whose id is `category_id`
    and of every category below it (their `path` holds it) the viewer may see. The loader
    counts it for many categories at once; the compiler writes it as a correlated count."""
    join = CATEGORY_PRODUCTS
    below = or_(Category.id == category_id, Category.path.contains(array([category_id])))
    statement = (
        select(func.count())
        .select_from(Category)
        .join(Product, join.target_column == join.owner_column)
        .where(below)
    )
    if join.rows.visible is not None:
        statement = statement.where(join.rows.visible(viewer))
    return statement
