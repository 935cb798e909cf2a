"""The root fields the compiler answers (`products`, `product`), and the entry point: an
operation to its one statement. The rules are the resolvers' own (`resolvers.catalog.queries`:
filter checks, sort keys and their defaults; `resolvers.pagination`: page sizes and cursors);
any error they raise means the executor answers, and reports it as always.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import VariableValues

from resolvers.catalog.queries import (
    DEFAULT_DIRECTION,
    ProductFilterData,
    ProductSortField,
    SortDirection,
    filter_conditions,
    sort_keys,
)
from resolvers.compiler.build import MAX_KEYS, Builder, Statement, typename
from resolvers.compiler.mapping import TYPES, Role
from resolvers.compiler.selection import Unsupported, collect_fields
from resolvers.errors import ApiError
from resolvers.ids import key_of
from resolvers.pagination import PageArgs, decode_cursor


class Compiler(Builder):
    def operation_sql(self, operation: OperationDefinitionNode) -> str:
        if operation.operation != OperationType.QUERY:
            raise Unsupported("not a query")
        root = self.schema.query_type
        assert root is not None
        built: dict[str, str] = {}
        fields = collect_fields(
            self.schema, self.fragments, self.variables, root, [operation.selection_set]
        )
        if not fields or len(fields) > MAX_KEYS:
            raise Unsupported("root")
        if all(nodes[0].name.value == "__typename" for nodes in fields.values()):
            raise Unsupported("nothing to read: the executor needs no statement")
        for key, field_nodes in fields.items():
            node = field_nodes[0]
            name = node.name.value
            if name == "__typename":
                built[key] = typename(root.name)
                continue
            definition, arguments = self.arguments(root, node)
            if name == "products":
                built[key] = self.products_sql(definition, arguments, field_nodes)
            elif name == "product":
                built[key] = self.product_sql(arguments, field_nodes)
            else:
                raise Unsupported(name)
        return f"SELECT {self.build_object(built)}"

    def products_sql(
        self, definition: GraphQLField, arguments: dict[str, Any], nodes: list[FieldNode]
    ) -> str:
        if arguments.get("last") is not None or arguments.get("before") is not None:
            raise Unsupported("backwards pages")
        data = _filter_data(arguments.get("filter"))
        if data.search is not None or data.category_id is not None or data.status is not None:
            raise Unsupported("search, category and status filters")
        try:
            filter_conditions(self.role is Role.STAFF, data)  # the executor's checks
            field, direction = _sort(arguments.get("sort"))
            keys = sort_keys(field, direction, None)
            args = PageArgs(first=arguments.get("first"), after=arguments.get("after"))
            size, _ = args.validated()
            after = decode_cursor(args.after, keys) if args.after is not None else None
        except ApiError as error:
            raise Unsupported("the executor reports this error") from error

        def where(row: str) -> str:
            conditions = [self.visible("Product", row)]
            if data.price_min is not None:
                conditions.append(f"{row}.price >= {self.param(data.price_min, 'numeric')}")
            if data.price_max is not None:
                conditions.append(f"{row}.price <= {self.param(data.price_max, 'numeric')}")
            if data.in_stock is not None:
                conditions.append(f"{row}.stock > 0" if data.in_stock else f"{row}.stock = 0")
            if data.rating_min is not None:
                minimum = self.param(Decimal(str(data.rating_min)), "numeric")
                conditions.append(f"{row}.rating_count > 0 AND {row}.rating_average >= {minimum}")
            return " AND ".join(conditions)

        return self.connection_sql(TYPES["Product"], definition, nodes, where, keys, size, after)

    def product_sql(self, arguments: dict[str, Any], nodes: list[FieldNode]) -> str:
        global_id, slug = arguments.get("id"), arguments.get("slug")
        if (global_id is None) == (slug is None):
            raise Unsupported("the executor reports this error")
        row = self.alias()
        if global_id is not None:
            try:
                key = key_of(global_id, "Product") or 0
            except ApiError as error:
                raise Unsupported("the executor reports this error") from error
            match = f"{row}.id = {self.param(key, 'bigint')}"
        else:
            match = f"{row}.slug = {self.param(slug, 'text')}"
        product = TYPES["Product"]
        return (
            f"(SELECT {self.object_sql(product, nodes, row)} FROM products AS {row}"
            f" WHERE {match} AND {self.visible('Product', row)})"
        )


def _filter_data(value: Any) -> ProductFilterData:
    """The coerced `filter` argument (a dict by GraphQL names) as the resolvers take it."""
    if value is None:
        return ProductFilterData()
    known = {"search", "categoryId", "includeDescendants", "priceMin", "priceMax"}
    if set(value) - known - {"inStock", "ratingMin", "status"}:
        raise Unsupported("filter fields")
    return ProductFilterData(
        search=value.get("search"),
        category_id=value.get("categoryId"),
        include_descendants=bool(value.get("includeDescendants", False)),
        price_min=value.get("priceMin"),
        price_max=value.get("priceMax"),
        in_stock=value.get("inStock"),
        rating_min=value.get("ratingMin"),
        status=value.get("status"),
    )


def _sort(value: Any) -> tuple[ProductSortField, SortDirection]:
    """The sort of `list_products` (field and direction defaults as the schema applies them)."""
    if value is None:
        return ProductSortField.CREATED_AT, SortDirection.DESC
    field = value.get("field")
    direction = value.get("direction")
    if not isinstance(field, ProductSortField) or not isinstance(direction, SortDirection | None):
        raise Unsupported("sort")
    if field is ProductSortField.RELEVANCE:
        raise Unsupported("relevance needs a search")
    direction = direction or DEFAULT_DIRECTION.get(field, SortDirection.DESC)
    return field, direction


def build_statement(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variables: VariableValues,
    role: Role,
) -> Statement:
    """The statement answering `operation`, or Unsupported."""
    builder = Compiler(schema, fragments, variables, role)
    sql = builder.operation_sql(operation)
    return Statement(sql, builder.params, builder.viewer_index)
