"""Prefetching: load a page's relations level by level, before the executor walks the page.

Without it, every `category`, `reviews` and `author` field of every object is an awaitable the
executor schedules and completes one by one. The dataloaders already batch the SQL; this module
also batches the *Python* work: it reads the client's selection, loads each relation of
`resolvers.relations.RELATIONS` once for all objects of a level through the same per-request
loaders, and the field resolvers then find their value loaded and return it synchronously
(`Loader.value_or_load`). A relation that is not declared still works; it just resolves
through its loader on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from resolvers.context import Context, Info
from resolvers.loaders import prime_categories_with_ancestors
from resolvers.pagination import Page
from resolvers.relations import RELATIONS, Relation


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


def _keys(relation: Relation, objects: list[Any], field: SelectedField) -> list[Any]:
    if relation.connection:
        arguments = field.arguments or {}
        candidates = (relation.page_key(owner, arguments) for owner in objects)
    else:
        candidates = (relation.key(owner) for owner in objects)
    return [key for key in candidates if key is not None]


async def _load(
    context: Context, relation: Relation, objects: list[Any], field: SelectedField
) -> None:
    keys = _keys(relation, objects, field)
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
        # Prefetching is an optimisation: the field itself loads again, and reports the
        # error (e.g. UNAUTHENTICATED for a bad token) where the client asked for it.
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
