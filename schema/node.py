"""The Relay `Node` interface, and `node(id)` / `nodes(ids)` (resolved by `resolvers.nodes`)."""

from __future__ import annotations

import strawberry

from resolvers import nodes as resolve
from resolvers.context import Info


@strawberry.interface(name="Node", description="An object with a global id (see `node`).")
class Node:
    # Read from the model's `global_id` property: a plain attribute, no resolver to run.
    global_id: strawberry.ID = strawberry.field(
        name="id", description="Opaque, globally unique; pass it to `node` to refetch."
    )


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when unknown or hidden.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        result: Node | None = await resolve.node(info.context, id)
        return result

    @strawberry.field(description=f"Objects by global id, in order (at most {resolve.MAX_NODES}).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await resolve.nodes(info.context, ids)
