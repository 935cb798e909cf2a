"""Relations: how a field of one GraphQL type reaches related rows, declared once.

Each `Relation` names its join (`resolvers.rows`: the columns, the rows and who may see which,
a connection's order) and the loader built from that join. Field resolvers call
`related` / `related_page` with their relation, and `resolvers.prefetch` reads `RELATIONS` to
load a whole level of a page ahead of the executor, through the same loaders (so SQL and
visibility cannot differ between the two); the compiler writes its SQL from the same joins. A
new relation is one join in `resolvers.rows` and one declaration here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from resolvers import rows
from resolvers.catalog import queries
from resolvers.context import Context, Info
from resolvers.dataloader import Loader, MaybeAwaitable
from resolvers.errors import ApiError
from resolvers.loaders import Loaders
from resolvers.pagination import Page, PageArgs
from resolvers.rows import Join

# Arguments of a nested connection that only its own query serves (a loader batches first
# pages in the default order only).
PAGING_ARGUMENTS = ("after", "before", "last")


@dataclass(frozen=True)
class Relation:
    owner: str  # GraphQL type the field belongs to
    field: str  # the field's GraphQL name
    target: str  # GraphQL type of the related objects
    join: Join
    # The loader built from `join` (its by-id loader for a to-one join).
    loader: Callable[[Loaders], Loader[Any, Any]]
    # A connection: the loader serves first pages keyed by (key, page size), and other pages
    # (cursors, `last`, other arguments) come from `other_pages`.
    other_pages: Callable[[Context, Any, PageArgs], Awaitable[Page[Any]]] | None = None
    unbatched_arguments: tuple[str, ...] = ()

    @property
    def connection(self) -> bool:
        return self.other_pages is not None

    def key(self, owner: Any) -> Hashable | None:
        """The key the loader takes for an owner object (None: nothing related)."""
        return self.join.key(owner)

    def page_key(self, owner: Any, arguments: Mapping[str, Any]) -> Hashable | None:
        """The loader key of a connection's page for these field arguments, or None when the
        loader does not serve it (or the arguments are invalid: the field will say so)."""
        if any(arguments.get(name) is not None for name in self.unbatched_arguments):
            return None
        if any(arguments.get(name) is not None for name in PAGING_ARGUMENTS):
            return None
        first = arguments.get("first")
        try:
            # Literals in a selection arrive as their source text ("3"), variables as values.
            size, _ = PageArgs(first=None if first is None else int(first)).validated()
        except (ApiError, TypeError, ValueError):
            return None
        return self.key(owner), size


PRODUCT_CATEGORY = Relation(
    "Product",
    "category",
    "Category",
    rows.PRODUCT_CATEGORY,
    lambda loaders: loaders.category_by_id,
)
PRODUCT_REVIEWS = Relation(
    "Product",
    "reviews",
    "Review",
    rows.PRODUCT_REVIEWS,
    lambda loaders: loaders.reviews_by_product,
    other_pages=lambda ctx, product, args: queries.product_reviews(ctx, product.id, args),
)
CATEGORY_PARENT = Relation(
    "Category",
    "parent",
    "Category",
    rows.CATEGORY_PARENT,
    lambda loaders: loaders.category_by_id,
)
CATEGORY_CHILDREN = Relation(
    "Category",
    "children",
    "Category",
    rows.CATEGORY_CHILDREN,
    lambda loaders: loaders.children_by_category,
    other_pages=lambda ctx, category, args: queries.child_categories(ctx, category.id, args),
)
CATEGORY_PRODUCTS = Relation(
    "Category",
    "products",
    "Product",
    rows.CATEGORY_PRODUCTS,
    lambda loaders: loaders.products_by_category,
    other_pages=lambda ctx, category, args: queries.category_products(ctx, category.id, args),
    unbatched_arguments=("sort",),
)
REVIEW_AUTHOR = Relation(
    "Review",
    "author",
    "PublicProfile",
    rows.REVIEW_AUTHOR,
    lambda loaders: loaders.profile_by_id,
)
REVIEW_PRODUCT = Relation(
    "Review",
    "product",
    "Product",
    rows.REVIEW_PRODUCT,
    lambda loaders: loaders.product_by_id,
)

RELATIONS: dict[tuple[str, str], Relation] = {
    (relation.owner, relation.field): relation
    for relation in (
        PRODUCT_CATEGORY,
        PRODUCT_REVIEWS,
        CATEGORY_PARENT,
        CATEGORY_CHILDREN,
        CATEGORY_PRODUCTS,
        REVIEW_AUTHOR,
        REVIEW_PRODUCT,
    )
}


def related(info: Info, owner: Any, relation: Relation) -> MaybeAwaitable[Any]:
    """The object a to-one relation leads to (None when the key is empty)."""
    key = relation.key(owner)
    if key is None:
        return None
    return relation.loader(info.context.loaders).value_or_load(key)


def related_page(
    info: Info, owner: Any, relation: Relation, args: PageArgs
) -> MaybeAwaitable[Page[Any]]:
    """A page of a nested connection: first pages through the batching loader, other pages
    through the relation's own query."""
    assert relation.other_pages is not None, f"{relation.owner}.{relation.field} is not a page"
    size, backwards = args.validated()
    if args.after is None and args.before is None and not backwards:
        return relation.loader(info.context.loaders).value_or_load((relation.key(owner), size))
    return relation.other_pages(info.context, owner, args)
