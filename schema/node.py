"""The Relay `Node` interface, and `node(id)` / `nodes(ids)`.

A global id names a type and a key. Each type's loader applies that type's visibility rules,
so an id of an unpublished product is as unknown to the public as an id that never existed,
and an id is only ever resolved as the type it names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from app.context import Context, Info
from resolvers.visibility import is_staff
from schema.errors import BadUserInput
from schema.relay import parse_global_id

MAX_NODES = 100


@strawberry.interface(name="Node", description="An object with a global id (see `node`).")
class Node:
    # Read from the model's `global_id` property: a plain attribute, no resolver to run.
    global_id: strawberry.ID = strawberry.field(
        name="id", description="Opaque, globally unique; pass it to `node` to refetch."
    )


def _int_key(key: str) -> int | None:
    return int(key) if key.isdigit() and len(key) <= 18 else None


async def _user(context: Context, key: int) -> Any:
    viewer = context.user
    if viewer is None or not (is_staff(viewer) or viewer.id == key):
        return None
    return await context.loaders.user_by_id.load(key)


LOADERS: dict[str, Callable[[Context, int], Awaitable[Any]]] = {
    "Product": lambda context, key: context.loaders.product_by_id.load(key),
    "Category": lambda context, key: context.loaders.category_by_id.load(key),
    "Review": lambda context, key: context.loaders.review_by_id.load(key),
    "User": _user,
}


async def resolve_node(context: Context, global_id: str) -> Any:
    type_name, raw_key = parse_global_id(global_id)
    load = LOADERS.get(type_name)
    key = _int_key(raw_key)
    if load is None or key is None:
        return None
    return await load(context, key)


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when unknown or hidden.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        result: Node | None = await resolve_node(info.context, id)
        return result

    @strawberry.field(description=f"Objects by global id, in order (at most {MAX_NODES}).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"Ask for at most {MAX_NODES} ids at a time.")
        # Gathered, so the loads of each type batch into one statement.
        return list(await asyncio.gather(*(resolve_node(info.context, i) for i in ids)))
