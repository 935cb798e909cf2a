"""`node(id)`: any object by its global id, with its own type's visibility rules.

Each type's loader applies that type's visibility, so an id of an unpublished product is as
unknown to the public as an id that never existed, and an id is only ever resolved as the type
it names (see `resolvers.ids` for what an unusable id means).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.ids import typed_key_of
from resolvers.jobs.queries import job_for_viewer
from resolvers.visibility import is_staff

MAX_NODES = 100


async def _user(context: Context, key: int) -> Any:
    viewer = context.user
    if viewer is None or not (is_staff(viewer) or viewer.id == key):
        return None
    return await context.loaders.user_by_id.load(key)


async def _job(context: Context, key: int) -> Any:
    context.user  # noqa: B018  (a bad token is UNAUTHENTICATED, not "no such job")
    return await job_for_viewer(context.readers, context.viewer, key)


LOADERS: dict[str, Callable[[Context, int], Awaitable[Any]]] = {
    "Product": lambda context, key: context.loaders.product_by_id.load(key),
    "Category": lambda context, key: context.loaders.category_by_id.load(key),
    "Review": lambda context, key: context.loaders.review_by_id.load(key),
    "Order": lambda context, key: context.loaders.order_by_id.load(key),
    "User": _user,
    "Job": _job,
}


async def node(context: Context, global_id: str) -> Any:
    type_name, key = typed_key_of(global_id)
    load = LOADERS.get(type_name)
    if load is None or key is None:
        return None
    return await load(context, key)


async def nodes(context: Context, global_ids: Sequence[str]) -> list[Any]:
    if len(global_ids) > MAX_NODES:
        raise BadUserInput(f"Ask for at most {MAX_NODES} ids at a time.")
    # Gathered, so the loads of each type batch into one statement.
    return list(await asyncio.gather(*(node(context, each) for each in global_ids)))
