"""Relay building blocks: opaque global ids and generic connections.

Connection fields are resolved from `resolvers.pagination.Page` objects, which carry model
instances; the GraphQL types here only declare what a client sees.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar

import strawberry

from db.values import encode_global_id
from resolvers.pagination import Page
from schema.errors import BadUserInput

NodeT = TypeVar("NodeT")


def to_global_id(type_name: str, key: object) -> strawberry.ID:
    return strawberry.ID(encode_global_id(type_name, key))


def parse_global_id(global_id: str) -> tuple[str, str]:
    """Split a global id into (type name, key); malformed ids are a BAD_USER_INPUT error."""
    try:
        decoded = base64.urlsafe_b64decode(global_id.encode("ascii")).decode()
        type_name, key = decoded.split(":", 1)
    except (ValueError, UnicodeError, binascii.Error) as error:
        raise BadUserInput(f"{global_id!r} is not a valid id.") from error
    return type_name, key


def parse_int_id(global_id: str, expected_type: str) -> int | None:
    """The integer key of a global id of `expected_type`, or None when it names another type."""
    type_name, key = parse_global_id(global_id)
    if type_name != expected_type or not key.isdigit() or len(key) > 18:
        return None
    return int(key)


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
