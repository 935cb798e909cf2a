"""The fields an operation selects, as the executor collects them (GraphQL spec,
"CollectFields"): fragments and inline fragments whose type condition applies, `@skip` and
`@include`, fields of one response key merged in the order they first appear."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_directive_values


class Unsupported(Exception):
    """The compiler cannot answer this operation exactly: the executor will."""


def included(node: Any, variables: VariableValues) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include is not None and include.get("if") is False)


def applies(schema: GraphQLSchema, condition: str | None, object_type: GraphQLObjectType) -> bool:
    if condition is None or condition == object_type.name:
        return True
    named = schema.get_type(condition)
    return isinstance(named, GraphQLInterfaceType) and schema.is_sub_type(named, object_type)


def collect_fields(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues,
    object_type: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
) -> dict[str, list[FieldNode]]:
    """Response key -> the field nodes selected under it, in response order."""
    fields: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if not included(selection, variables):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if applies(schema, condition.name.value if condition else None, object_type):
                    walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = fragments.get(name)
                if fragment is not None and applies(
                    schema, fragment.type_condition.name.value, object_type
                ):
                    walk(fragment.selection_set)

    for selection_set in selection_sets:
        walk(selection_set)
    return fields


def sub_selections(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    return [node.selection_set for node in nodes if node.selection_set is not None]
