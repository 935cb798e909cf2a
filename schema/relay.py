"""Relay connections: `Connection`, `Edge` and `PageInfo`, generic over the node type.

Connection fields are resolved from `resolvers.pagination.Page` objects, which carry model
instances; the GraphQL types here only declare what a client sees. Global ids are
`db.global_ids` (the codec) and `resolvers.ids` (what an unusable id means).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import strawberry

from db.global_ids import encode_global_id
from resolvers.pagination import Page

NodeT = TypeVar("NodeT")


def to_global_id(type_name: str, key: object) -> strawberry.ID:
    return strawberry.ID(encode_global_id(type_name, key))


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo

    @strawberry.field(description="How many items the whole list holds, across all pages.")
    async def total_count(self, root: strawberry.Parent[Page[Any]]) -> int:
        return await root.total_count()
