"""Prefetching: load a page's relations level by level, before the executor walks the page.

Without it, every `category`, `reviews` and `author` field of every object is an awaitable the
executor schedules and completes one by one. The dataloaders already batch the SQL; this module
also batches the *Python* work: it reads the client's selection, loads each relation once for
all objects of a level through the same per-request loaders (so SQL and visibility stay
identical), and the field resolvers then find their value already loaded and return it
synchronously (`cached_or_load`).

`RELATIONS` declares, once, how each GraphQL field maps onto a loader and a key. A field that
is not declared here still works; it just resolves through its loader on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from app.context import Context, Info
from resolvers.loaders import Loaders, prime_categories_with_ancestors
from resolvers.pagination import Page, PageArgs
from schema.errors import ApiError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MaybeAwaitable: TypeAlias = V | Awaitable[V]


def cached_or_load(loader: DataLoader[K, V], key: K) -> MaybeAwaitable[V]:
    """The loaded value when it is already there (no awaitable for the executor), else a load."""
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled():
        return future.result()  # re-raises a failed load's error, as awaiting would
    return loader.load(key)


def nested_page(
    loader: DataLoader[tuple[int, int], Page[Any]],
    owner_id: int,
    args: PageArgs,
    other_pages: Callable[[], Awaitable[Page[Any]]],
    *,
    batched: bool = True,
) -> MaybeAwaitable[Page[Any]]:
    """A nested connection: first pages through the batching loader, other pages (cursors,
    `last`) through their own query."""
    size, backwards = args.validated()
    if batched and args.after is None and args.before is None and not backwards:
        return cached_or_load(loader, (owner_id, size))
    return other_pages()


def first_page_key(object_id: int, field: SelectedField) -> tuple[int, int] | None:
    """The loader key of a nested connection's first page, or None when the page is not one
    a loader serves (cursors, `last`) or its arguments are invalid (the field will say so)."""
    arguments = field.arguments or {}
    if any(arguments.get(name) is not None for name in ("after", "before", "last")):
        return None
    first = arguments.get("first")
    try:
        # Literals in the selection arrive as their source text ("3"), variables as values.
        size, _ = PageArgs(first=None if first is None else int(first)).validated()
    except (ApiError, TypeError, ValueError):
        return None
    return object_id, size


@dataclass(frozen=True)
class Relation:
    loader: Callable[[Loaders], DataLoader[Any, Any]]
    key: Callable[[Any, SelectedField], Hashable | None]
    target: str  # GraphQL type of the loaded objects
    connection: bool = False  # the loaded value is a Page: its objects are the edges' nodes


RELATIONS: dict[tuple[str, str], Relation] = {
    ("Product", "category"): Relation(
        lambda loaders: loaders.category_by_id, lambda p, _: p.category_id, "Category"
    ),
    ("Product", "reviews"): Relation(
        lambda loaders: loaders.reviews_by_product,
        lambda p, field: first_page_key(p.id, field),
        "Review",
        connection=True,
    ),
    ("Category", "parent"): Relation(
        lambda loaders: loaders.category_by_id, lambda c, _: c.parent_id, "Category"
    ),
    ("Category", "children"): Relation(
        lambda loaders: loaders.children_by_category,
        lambda c, field: first_page_key(c.id, field),
        "Category",
        connection=True,
    ),
    ("Category", "products"): Relation(
        lambda loaders: loaders.products_by_category,
        lambda c, field: (
            None if (field.arguments or {}).get("sort") else first_page_key(c.id, field)
        ),
        "Product",
        connection=True,
    ),
    ("Review", "author"): Relation(
        lambda loaders: loaders.profile_by_id, lambda r, _: r.user_id, "User"
    ),
}


def fields_of(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from fields_of(selection.selections)


def node_selections(connection: SelectedField) -> list[Selection]:
    """The selections made on `edges { node { … } }` of a connection field."""
    return [
        selection
        for edges in fields_of(connection.selections)
        if edges.name == "edges"
        for node in fields_of(edges.selections)
        if node.name == "node"
        for selection in node.selections
    ]


async def prefetch(
    context: Context, type_name: str, objects: list[Any], selections: list[Selection]
) -> None:
    """Load, level by level, every declared relation the selection asks for."""
    if not objects:
        return
    loads = [
        _load(context, relation, objects, field)
        for field in fields_of(selections)
        if (relation := RELATIONS.get((type_name, field.name))) is not None
    ]
    await asyncio.gather(*loads)


async def _load(
    context: Context, relation: Relation, objects: list[Any], field: SelectedField
) -> None:
    keys = [key for parent in objects if (key := relation.key(parent, field)) is not None]
    if not keys:
        return
    try:
        if relation.target == "Category" and _asks_for_ancestors(field):
            await prime_categories_with_ancestors(
                context.readers,
                context.loaders.category_by_id,
                [k for k in keys if isinstance(k, int)],
            )
        values = await relation.loader(context.loaders).load_many(keys)
    except Exception:
        return
    if relation.connection:
        children = [edge.node for page in values for edge in page.edges]
        selections = node_selections(field)
    else:
        children = [value for value in values if value is not None]
        selections = field.selections
    await prefetch(context, relation.target, _unique(children), selections)


def _asks_for_ancestors(field: SelectedField) -> bool:
    return any(child.name in ("parent", "ancestors") for child in fields_of(field.selections))


def _unique(objects: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for item in objects:
        seen.setdefault(id(item), item)
    return list(seen.values())


async def prefetch_page(info: Info, page: Page[Any], type_name: str) -> Page[Any]:
    """Prefetch what the client selected on the nodes of a connection this field returns."""
    nodes = [edge.node for edge in page.edges]
    for field in fields_of(info.selected_fields):
        await prefetch(info.context, type_name, nodes, node_selections(field))
    return page


async def prefetch_object(info: Info, value: Any, type_name: str) -> None:
    """Prefetch what the client selected on the object this field returns."""
    if value is not None:
        for field in fields_of(info.selected_fields):
            await prefetch(info.context, type_name, [value], field.selections)
