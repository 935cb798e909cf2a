"""From a query operation to ONE SQL statement whose single value is the JSON text of `data`.

The JSON is written as text, compact and byte for byte as the executor's orjson writes it:
objects are `'{' || '"key":' || value || … || '}'` in the order the executor writes their
keys, scalars `to_json(value)::text`, lists `string_agg` in their order. A connection reads one
page (`LIMIT first + 1`, numbered by `row_number()` so `hasNextPage` and the cursors come from
the same rows), with `totalCount` as its own subquery; related objects are correlated
subqueries. Argument values are parameters. Whatever this module does not know (a field, an
argument, a viewer-dependent rule) raises `Unsupported`, and the operation goes to the
executor. The root fields and the entry point are `resolvers.compiler.roots`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
)
from graphql.execution.values import VariableValues, get_argument_values

from resolvers.catalog.queries import ProductSortField, SortDirection, sort_keys
from resolvers.compiler.mapping import (
    NESTED_LISTS,
    TYPES,
    ListField,
    Nested,
    Role,
    TypeMap,
)
from resolvers.compiler.pages import (
    CASTS,
    Window,
    column_name,
    cursor_sql,
    page_args,
    page_window,
    product_sort,
)
from resolvers.compiler.permissions import permitted
from resolvers.compiler.predicates import count_sql, visible_sql
from resolvers.compiler.selection import Unsupported, collect_fields, sub_selections
from resolvers.errors import ApiError
from resolvers.orderings import NEWEST_REVIEWS, VERIFIED_FIRST_REVIEWS
from resolvers.pagination import SortKey
from resolvers.relations import Relation
from resolvers.rows import Rows, sql_column

CREATED_AT = ProductSortField.CREATED_AT
# Keys per object (a bound on the statement's size, far above any real selection).
MAX_KEYS = 50


@dataclass(frozen=True)
class Statement:
    sql: str
    params: list[Any]
    viewer_index: int | None  # where the viewer's id goes in `params`


def scalar(sql: str) -> str:
    """The JSON text of an SQL value (NULL stays NULL: the object writes null)."""
    return f"to_json({sql})::text"


def enum_name(enum: GraphQLEnumType, value: str) -> str:
    """A stored enum value as the name of the GraphQL enum value the executor writes (the
    schema's enum maps names to the values stored)."""
    cases: list[str] = []
    for name, member in enum.values.items():
        stored = getattr(member.value, "value", member.value)
        if not (isinstance(stored, str) and stored.isidentifier() and name.isidentifier()):
            raise Unsupported(f"enum {enum.name}")
        cases.append(f" WHEN '{stored}' THEN '{name}'")
    return f"(CASE ({value})::text{''.join(cases)} END)"


def typename(name: str) -> str:
    return f"'\"{name}\"'::text"


def _unwrap(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


class Builder:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
        role: Role,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.role = role
        self.params: list[Any] = []
        self.viewer_index: int | None = None
        self._aliases = 0

    # Parameters and aliases

    def param(self, value: Any, cast: str) -> str:
        self.params.append(value)
        return f"${len(self.params)}::{cast}"

    def viewer(self) -> str:
        if self.viewer_index is None:
            self.params.append(None)
            self.viewer_index = len(self.params) - 1
        return f"${self.viewer_index + 1}::bigint"

    def alias(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"

    def visible(self, type_name: str, alias: str) -> str:
        """Which rows of the type the viewer may see, as its by-id loader and `node` read it."""
        return self.visible_rows(TYPES[type_name].rows, alias)

    def visible_rows(self, rows: Rows[Any], alias: str) -> str:
        """The executor's visibility rule of `rows`, for this plan's role, over `alias`."""
        return visible_sql(rows, self.role, alias, self.viewer)

    # Selections

    def fields(
        self, object_type: GraphQLObjectType, nodes: list[FieldNode]
    ) -> dict[str, list[FieldNode]]:
        collected = collect_fields(
            self.schema, self.fragments, self.variables, object_type, sub_selections(nodes)
        )
        if len(collected) > MAX_KEYS:
            raise Unsupported("too many keys in one object")
        return collected

    def arguments(
        self, parent: GraphQLObjectType, node: FieldNode
    ) -> tuple[GraphQLField, dict[str, Any]]:
        definition = parent.fields.get(node.name.value)
        if definition is None:
            raise Unsupported(node.name.value)
        if not permitted(definition, self.role):
            raise Unsupported(f"{parent.name}.{node.name.value}: not for every {self.role.value}")
        return definition, get_argument_values(definition, node, self.variables)

    def build_object(self, fields: Mapping[str, str]) -> str:
        """The JSON text of an object whose values are JSON texts (NULL: null)."""
        members = " || ',' || ".join(
            f"'\"{key}\":' || coalesce({value}, 'null')" for key, value in fields.items()
        )
        if not fields:  # every field skipped
            return "'{}'::text"
        return f"('{{'::text || {members} || '}}')"

    def object_sql(self, type_map: TypeMap, nodes: list[FieldNode], alias: str) -> str:
        """The JSON of one row of `type_map` (alias `alias`) for the selection of `nodes`."""
        object_type = self.schema.get_type(type_map.name)
        assert isinstance(object_type, GraphQLObjectType)
        built: dict[str, str] = {}
        for key, field_nodes in self.fields(object_type, nodes).items():
            node = field_nodes[0]
            name = node.name.value
            if name == "__typename":
                built[key] = typename(type_map.name)
                continue
            definition, arguments = self.arguments(object_type, node)
            if name in type_map.scalars:
                if arguments:
                    raise Unsupported(name)
                value = type_map.scalars[name].format(t=alias)
                named = _unwrap(definition.type)
                if isinstance(named, GraphQLEnumType):
                    value = enum_name(named, value)
                built[key] = scalar(value)
            elif name in type_map.counts and not arguments:
                count = count_sql(type_map.counts[name], self.role, f"{alias}.id", self.viewer)
                built[key] = scalar(count)
            elif name in type_map.nested:
                built[key] = self.nested_sql(type_map.nested[name], field_nodes, alias)
            elif name in type_map.lists:
                built[key] = self.list_sql(type_map.lists[name], field_nodes, alias)
            elif name in type_map.relations:
                relation = type_map.relations[name]
                if relation.connection:
                    built[key] = self.nested_connection_sql(
                        relation, definition, arguments, field_nodes, alias
                    )
                else:
                    built[key] = self.to_one_sql(relation, field_nodes, alias)
            else:
                raise Unsupported(f"{type_map.name}.{name}")
        return self.build_object(built)

    def nested_sql(self, nested: Nested, nodes: list[FieldNode], alias: str) -> str:
        object_type = self.schema.get_type(nested.type_name)
        assert isinstance(object_type, GraphQLObjectType)
        built: dict[str, str] = {}
        for key, field_nodes in self.fields(object_type, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                built[key] = typename(nested.type_name)
            elif name in nested.fields:
                built[key] = scalar(nested.fields[name].format(t=alias))
            elif (nested.type_name, name) in NESTED_LISTS:
                built[key] = self.list_sql(NESTED_LISTS[nested.type_name, name], field_nodes, alias)
            else:
                raise Unsupported(f"{nested.type_name}.{name}")
        return self.build_object(built)

    def list_sql(self, listed: ListField, nodes: list[FieldNode], alias: str) -> str:
        element = self.alias()
        source = listed.source.format(t=alias, e=element)
        order = listed.order.format(e=element)
        if listed.element in TYPES:
            item = self.object_sql(TYPES[listed.element], nodes, element)
        else:
            object_type = self.schema.get_type(listed.element)
            assert isinstance(object_type, GraphQLObjectType)
            built: dict[str, str] = {}
            for key, field_nodes in self.fields(object_type, nodes).items():
                name = field_nodes[0].name.value
                if name == "__typename":
                    built[key] = typename(listed.element)
                elif name in listed.element_fields:
                    built[key] = scalar(listed.element_fields[name].format(e=element))
                else:
                    raise Unsupported(f"{listed.element}.{name}")
            item = self.build_object(built)
        return (
            f"coalesce((SELECT '['::text || string_agg({item}, ',' ORDER BY {order}) || ']'"
            f" FROM {source}), '[]')"
        )

    def to_one_sql(self, relation: Relation, nodes: list[FieldNode], alias: str) -> str:
        target, join = TYPES.get(relation.target), relation.join
        if target is None or join.connection or join.rows.table != target.table:
            raise Unsupported(f"{relation.owner}.{relation.field}")
        row = self.alias()
        column, owner_column = sql_column(join.target_column), sql_column(join.owner_column)
        return (
            f"(SELECT {self.object_sql(target, nodes, row)} FROM {target.table} AS {row}"
            f" WHERE {row}.{column} = {alias}.{owner_column}"
            f" AND {self.visible_rows(join.rows, row)})"
        )

    # Connections

    def nested_connection_sql(
        self,
        relation: Relation,
        definition: GraphQLField,
        arguments: dict[str, Any],
        nodes: list[FieldNode],
        alias: str,
    ) -> str:
        target, join = TYPES.get(relation.target), relation.join
        if target is None or not join.connection or join.rows.table != target.table:
            raise Unsupported(f"{relation.owner}.{relation.field}")
        keys = self.nested_keys(relation, arguments)
        verified_only = arguments.get("verifiedOnly", False) is True
        window = page_window(page_args(arguments), keys)
        verified = " AND {row}.verified_purchase" if verified_only else ""
        column, owner_column = sql_column(join.target_column), sql_column(join.owner_column)

        def where(row: str) -> str:
            condition = (
                f"{row}.{column} = {alias}.{owner_column} AND {self.visible_rows(join.rows, row)}"
            )
            return condition + verified.format(row=row)

        return self.connection_sql(target, definition, nodes, where, keys, window)

    def nested_keys(self, relation: Relation, arguments: dict[str, Any]) -> list[SortKey[Any]]:
        """The order of a nested page, as its resolver reads it (`schema.catalog`): the join's
        own order (the loader's) unless an argument asks for another."""
        if relation.target == "Category":  # children, by name
            return list(relation.join.order)
        if relation.target == "Product":  # a category's products: newest first, or `sort`
            sort = arguments.get("sort")
            if sort is None:
                return list(relation.join.order)
            field, direction = product_sort(sort)
            try:
                return sort_keys(
                    field or CREATED_AT, direction or SortDirection.DESC, None
                )  # RELEVANCE: no search, an error
            except ApiError as error:
                raise Unsupported(f"the executor reports this error: {error}") from error
        # Reviews: the newest first (the default) or verified purchases first, optionally only
        # verified purchases, as `resolvers.catalog.queries.product_reviews` reads any page.
        verified_only = arguments.get("verifiedOnly", False)
        sort = getattr(arguments.get("sort"), "name", arguments.get("sort"))
        if sort not in (None, "NEWEST", "VERIFIED_FIRST") or not isinstance(verified_only, bool):
            raise Unsupported("review sort")
        if sort == "VERIFIED_FIRST" and not verified_only:
            return VERIFIED_FIRST_REVIEWS
        if verified_only:  # `resolvers.catalog.queries.product_reviews`' order
            return NEWEST_REVIEWS
        return list(relation.join.order)

    def connection_sql(
        self,
        target: TypeMap,
        definition: GraphQLField,
        nodes: list[FieldNode],
        where: Any,
        keys: list[SortKey[Any]],
        window: Window,
        *,
        source: str | None = None,
        prefix: str = "",
        null_if_empty: bool = False,
    ) -> str:
        """One page of `target` rows matching `where(alias)`, in `keys` order, between the
        decoded cursor values `window.after` and `window.before`, the first `size` of them or
        (`backwards`, `last`) the last, as the Connection's JSON (as
        `resolvers.pagination.paginate` reads it). `source` replaces the table for the page's
        rows (a subquery adding RANK_COLUMN to them); `prefix` marks cursors; `null_if_empty`
        makes a page that read no row (not even the extra one) NULL instead."""
        size, after, before, backwards = window.size, window.after, window.before, window.backwards
        connection_type = _unwrap(definition.type)
        inner, page = self.alias(), self.alias()
        order = ", ".join(
            f"{inner}.{column_name(key)} {'DESC' if key.descending != backwards else 'ASC'}"
            for key in keys
        )
        conditions = [where(inner)]
        for values, forward in ((after, True), (before, False)):
            if values is None:
                continue
            if len({key.descending for key in keys}) != 1:
                raise Unsupported("mixed directions")
            columns = ", ".join(f"{inner}.{column_name(key)}" for key in keys)
            params = ", ".join(
                self.param(value, CASTS[column_name(key)])
                for key, value in zip(keys, values, strict=True)
            )
            greater = (not keys[0].descending) == forward
            conditions.append(f"({columns}) {'>' if greater else '<'} ({params})")
        # Page sizes are validated ints (0 to 100): written in the text, like the plan's shape.
        limit, shown = str(int(size) + 1), str(int(size))
        rows = (
            f"(SELECT {inner}.*, row_number() OVER (ORDER BY {order}) AS rn"
            f" FROM {source or target.table} AS {inner} WHERE {' AND '.join(conditions)}"
            f" ORDER BY {order} LIMIT {limit}) AS {page}"
        )
        # Rows are numbered in the order read: a backwards page shows them in reverse. The
        # extra row says there is a next page (forwards) or a previous one (backwards).
        shown_order = "DESC" if backwards else "ASC"
        more = scalar(f"count(*) > {shown}")
        true, false = "'true'::text", "'false'::text"
        has_next = (true if before is not None else false) if backwards else more
        has_previous = more if backwards else (true if after is not None else false)
        in_page = f"FILTER (WHERE {page}.rn <= {shown})"
        built: dict[str, str] = {}
        for key, field_nodes in self.fields(connection_type, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                built[key] = typename(connection_type.name)
            elif name == "totalCount":
                counted = self.alias()
                built[key] = scalar(
                    f"(SELECT count(*) FROM {target.table} AS {counted} WHERE {where(counted)})"
                )
            elif name == "edges":
                edge_type = _unwrap(connection_type.fields["edges"].type)
                edge = self.edge_sql(target, edge_type, field_nodes, keys, page, prefix)
                built[key] = (
                    f"coalesce('['::text || string_agg({edge}, ',' ORDER BY {page}.rn"
                    f" {shown_order}) {in_page} || ']', '[]')"
                )
            elif name == "pageInfo":
                info_type = _unwrap(connection_type.fields["pageInfo"].type)
                info: dict[str, str] = {}
                for info_key, info_nodes in self.fields(info_type, field_nodes).items():
                    info_name = info_nodes[0].name.value
                    if info_name == "__typename":
                        info[info_key] = typename("PageInfo")
                    elif info_name == "hasNextPage":
                        info[info_key] = has_next
                    elif info_name == "hasPreviousPage":
                        info[info_key] = has_previous
                    elif info_name in ("startCursor", "endCursor"):
                        first = (info_name == "startCursor") != backwards
                        direction = "ASC" if first else "DESC"
                        cursor = cursor_sql(keys, page, prefix)
                        info[info_key] = scalar(
                            f"(array_agg({cursor} ORDER BY {page}.rn {direction}) {in_page})[1]"
                        )
                    else:
                        raise Unsupported(f"PageInfo.{info_name}")
                built[key] = self.build_object(info)
            else:
                raise Unsupported(f"{connection_type.name}.{name}")
        # GROUP BY (): one row, whether or not the selection aggregates the page's rows.
        having = " HAVING count(*) > 0" if null_if_empty else ""
        return f"(SELECT {self.build_object(built)} FROM {rows} GROUP BY (){having})"

    def edge_sql(
        self,
        target: TypeMap,
        edge_type: GraphQLObjectType,
        nodes: list[FieldNode],
        keys: list[SortKey[Any]],
        page: str,
        prefix: str = "",
    ) -> str:
        built: dict[str, str] = {}
        for key, field_nodes in self.fields(edge_type, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                built[key] = typename(edge_type.name)
            elif name == "cursor":
                built[key] = scalar(cursor_sql(keys, page, prefix))
            elif name == "node":
                built[key] = self.object_sql(target, field_nodes, page)
            else:
                raise Unsupported(f"{edge_type.name}.{name}")
        return self.build_object(built)
