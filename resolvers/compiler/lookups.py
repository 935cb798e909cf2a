"""Root lookups beside the listing: `product`, `category`, `categories`, `node` and `nodes`,
with the resolvers' rules (`resolvers.catalog.queries`, `resolvers.nodes`, `resolvers.ids`).

`node(id)` is compiled for the types the compiler maps (products, categories, reviews) with
each type's own visibility (its `TypeMap.rows`, the rows its `*_by_id` loader reads); an id of
an unknown type, or with no integer key, is null as the executor answers it; ids of orders,
users and jobs (viewer-dependent rules and side checks) stay with the executor.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLField

from resolvers.catalog.queries import _one_of
from resolvers.compiler.listing import ProductListing
from resolvers.compiler.mapping import TYPES
from resolvers.compiler.pages import page_args, page_window
from resolvers.compiler.selection import Unsupported
from resolvers.errors import ApiError
from resolvers.ids import key_of, typed_key_of
from resolvers.nodes import LOADERS, MAX_NODES
from resolvers.orderings import CATEGORIES_BY_NAME


def _executor_reports(error: ApiError) -> Unsupported:
    return Unsupported(f"the executor reports this error: {error}")


class Lookups(ProductListing):
    def by_id_or_slug_sql(
        self, type_name: str, arguments: dict[str, Any], nodes: list[FieldNode]
    ) -> str:
        """`product(id|slug)`, `category(id|slug)`: exactly one of them (else an error)."""
        try:
            key = _one_of(arguments.get("id"), arguments.get("slug"), type_name)
        except ApiError as error:
            raise _executor_reports(error) from error
        row = self.alias()
        if key is not None:
            match = f"{row}.id = {self.param(key, 'bigint')}"
        else:
            match = f"{row}.slug = {self.param(arguments['slug'], 'text')}"
        target = TYPES[type_name]
        return (
            f"(SELECT {self.object_sql(target, nodes, row)} FROM {target.table} AS {row}"
            f" WHERE {match} AND {self.visible(type_name, row)})"
        )

    def node_sql(self, global_id: Any, nodes: list[FieldNode]) -> str:
        try:
            type_name, key = typed_key_of(global_id)
        except ApiError as error:
            raise _executor_reports(error) from error
        if type_name not in LOADERS or key is None:
            return "NULL"
        if type_name not in TYPES:
            raise Unsupported(f"node of {type_name}")
        target = TYPES[type_name]
        row = self.alias()
        visible = self.visible(type_name, row)  # the viewer's parameter, if any, comes first
        return (
            f"(SELECT {self.object_sql(target, nodes, row)} FROM {target.table} AS {row}"
            f" WHERE {row}.id = {self.param(key, 'bigint')} AND {visible})"
        )

    def nodes_sql(self, global_ids: Any, nodes: list[FieldNode]) -> str:
        if not isinstance(global_ids, list) or len(global_ids) > MAX_NODES:
            raise Unsupported("the executor reports this error")
        if not global_ids:
            return "'[]'::text"
        items = [f"coalesce({self.node_sql(each, nodes)}, 'null')" for each in global_ids]
        return "('['::text || " + " || ',' || ".join(items) + " || ']')"

    def categories_sql(
        self, definition: GraphQLField, arguments: dict[str, Any], nodes: list[FieldNode]
    ) -> str:
        """`list_categories`: the children of `parentId`, the roots, or all, by name."""
        window = page_window(page_args(arguments), CATEGORIES_BY_NAME)
        parent_id = arguments.get("parentId")
        try:
            parent = key_of(parent_id, "Category") if parent_id is not None else None
        except ApiError as error:
            raise _executor_reports(error) from error
        if parent_id is not None:
            condition = f"= {self.param(parent, 'bigint')}" if parent is not None else None
        elif arguments.get("rootsOnly"):
            condition = "IS NULL"
        else:
            condition = "true"

        def where(row: str) -> str:
            if condition is None:
                return "false"
            return "true" if condition == "true" else f"{row}.parent_id {condition}"

        return self.connection_sql(
            TYPES["Category"], definition, nodes, where, CATEGORIES_BY_NAME, window
        )
