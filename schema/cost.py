"""The cost of an operation, computed from its document before it runs.

The model (the README's "Limits" section says the same):
- a scalar or enum field costs 0;
- an object field costs 1 plus the cost of its selection;
- a connection field costs 1 plus, for each item of its page (`first` or `last`, the default
  page size when absent, never more than the largest page), the cost of what `edges` selects:
  `node` as an object (1 plus its selection), `cursor` 0; `pageInfo` counts as an object,
  `totalCount` 1 (a COUNT query). Connections nested in a connection multiply;
- `nodes(ids:)` costs what as many `node(id:)` fields would;
- a fragment counts where it is spread, each computed once (a fragment bomb stays linear); a
  spread in a type-conditioned fragment counts as if it always applied (an upper bound).

Page sizes come from literals, variables (as sent; a value that is not a usable size counts as
the default: the request fails its coercion anyway) or the variable's default.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    ValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

from resolvers.nodes import MAX_NODES
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

PAGE_ARGUMENTS = ("first", "last")


def is_connection(type_: GraphQLNamedType) -> TypeGuard[GraphQLObjectType]:
    return isinstance(type_, GraphQLObjectType) and {"edges", "pageInfo"} <= type_.fields.keys()


class _Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        # What each variable stands for: the value sent, else the declared default.
        self.variables: dict[str, Any] = {}
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name in variables:
                self.variables[name] = variables[name]
            elif definition.default_value is not None:
                self.variables[name] = definition.default_value
        # (fragment, page size when it is spread on a connection) -> cost
        self.computed: dict[tuple[str, int], int] = {}
        self.entered: set[str] = set()

    def selections(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, page: int
    ) -> int:
        """The cost of a selection set on `parent` (`page`: items per page, on a connection)."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                owner = self.schema.get_type(condition.name.value) if condition else parent
                if owner is not None:
                    total += self.selections(owner, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int) -> int:
        key = (name, page)
        if key not in self.computed:
            fragment = self.fragments.get(name)
            owner = self.schema.get_type(fragment.type_condition.name.value) if fragment else None
            if fragment is None or owner is None or name in self.entered:
                return 0  # unknown or cyclic: validation refuses the document
            self.entered.add(name)
            self.computed[key] = self.selections(owner, fragment.selection_set, page)
            self.entered.discard(name)
        return self.computed[key]

    def field(self, parent: GraphQLNamedType, node: FieldNode, page: int) -> int:
        name = node.name.value
        if is_connection(parent):
            if name == "totalCount":
                return 1
            if name == "edges" and node.selection_set is not None:
                edge = get_named_type(parent.fields[name].type)
                return page * self.selections(edge, node.selection_set, 1)
        definition = self._definition(parent, name)
        if definition is None or node.selection_set is None:
            return 0
        type_ = get_named_type(definition.type)
        if is_leaf_type(type_):
            return 0
        if is_connection(type_):
            return 1 + self.selections(type_, node.selection_set, self._page_size(node))
        inner = 1 + self.selections(type_, node.selection_set, 1)
        if name == "nodes" and parent is self.schema.query_type:
            return self._ids_count(node) * inner
        return inner

    def _definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if parent is self.schema.query_type and name == "__schema":
            return SchemaMetaFieldDef
        if parent is self.schema.query_type and name == "__type":
            return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            field: GraphQLField | None = parent.fields.get(name)
            return field
        return None

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            value = self.variables.get(node.name.value)
            return self._value(value) if isinstance(value, ValueNode) else value
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return node.values
        return None

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self._value(argument.value)
        return None

    def _page_size(self, node: FieldNode) -> int:
        sizes = [self._argument(node, name) for name in PAGE_ARGUMENTS]
        usable = [size for size in sizes if type(size) is int and size >= 0]
        return min(max(usable), MAX_PAGE_SIZE) if usable else DEFAULT_PAGE_SIZE

    def _ids_count(self, node: FieldNode) -> int:
        ids = self._argument(node, "ids")
        # A single id is coerced to a list of one.
        return min(len(ids), MAX_NODES) if isinstance(ids, list | tuple) else 1


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> int:
    """The cost of running `operation` of `document` with `variables` (see the module)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _Costing(schema, document, operation, variables or {}).selections(
        root, operation.selection_set, 1
    )
