"""The root fields the compiler answers (`products`: resolvers.compiler.listing; `product`,
`category`, `categories`, `node`, `nodes`: resolvers.compiler.lookups), and the entry point: an
operation to its one statement. The rules are the resolvers' own (`resolvers.catalog.queries`:
filter checks, sort keys and their defaults; `resolvers.pagination`: page sizes and cursors);
any error they raise means the executor answers, and reports it as always.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import VariableValues

from resolvers.compiler.build import MAX_KEYS, Statement, typename
from resolvers.compiler.lookups import Lookups
from resolvers.compiler.mapping import Role
from resolvers.compiler.selection import Unsupported, collect_fields


class Compiler(Lookups):
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
            elif name in ("product", "category"):
                built[key] = self.by_id_or_slug_sql(name.capitalize(), arguments, field_nodes)
            elif name == "categories":
                built[key] = self.categories_sql(definition, arguments, field_nodes)
            elif name == "node":
                built[key] = self.node_sql(arguments.get("id"), field_nodes)
            elif name == "nodes":
                built[key] = self.nodes_sql(arguments.get("ids"), field_nodes)
            else:
                raise Unsupported(name)
        return f"SELECT {self.build_object(built)}"


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
