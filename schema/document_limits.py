"""Limits on a document's shape, checked before the rest of validation: depth, aliases and
directives. Each refusal names its limit.

They run as one linear pass ahead of graphql-core's rules (which they partly replace: the rule
for duplicate directives reports one error per duplicate, so 50 `@skip` gave 49 errors; here a
document gets one). A document over a limit is refused without paying for the full validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import cast

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    UniqueDirectivesPerLocationRule,
    specified_rules,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

SelectionOwner = OperationDefinitionNode | FragmentDefinitionNode | FieldNode | InlineFragmentNode


def validation_rules(*, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's rules, less the one DocumentLimits replaces, plus the introspection ban."""
    rules = [rule for rule in specified_rules if rule is not UniqueDirectivesPerLocationRule]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


class ValidationRules(SchemaExtension):
    """Sets the validation rules of every operation (see `validation_rules`)."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        self.execution_context.validation_rules = self.rules
        yield


class _Measure:
    """The depth and the alias count of selection sets, each fragment measured once.

    strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread,
    so a short document whose fragments each spread the previous one twice takes exponential
    time to validate (a denial of service); the depth limiter also crashes on a spread of an
    unknown fragment. Here each fragment's result is memoised; a spread of an unknown fragment
    or a cycle counts as nothing (KnownFragmentNames and NoFragmentCycles report those).
    """

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.measured: dict[str, tuple[int, int]] = {}
        self.entered: set[str] = set()

    def __call__(self, owner: SelectionOwner) -> tuple[int, int]:
        """(how many levels of fields lie below `owner`, how many aliases its fields have)."""
        depth = aliases = 0
        for selection in owner.selection_set.selections if owner.selection_set else ():
            if isinstance(selection, FieldNode):
                aliases += 1 if selection.alias else 0
                if selection.selection_set is not None:
                    below, inner = self(selection)
                    aliases += inner
                    # Introspection (by field name, not alias) is bounded by the schema itself.
                    if not selection.name.value.startswith("__"):
                        depth = max(depth, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                below, inner = self(selection)
                depth, aliases = max(depth, below), aliases + inner
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in self.measured:
                    fragment = self.fragments.get(name)
                    if fragment is None or name in self.entered:
                        continue
                    self.entered.add(name)
                    self.measured[name] = self(fragment)
                    self.entered.discard(name)
                below, inner = self.measured[name]
                depth, aliases = max(depth, below), aliases + inner
        return depth, aliases


def _directive_lists(document: DocumentNode) -> Iterator[Sequence[DirectiveNode]]:
    """The directives of every position of the document that can hold some, each once."""
    sets: list[SelectionSetNode] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            yield definition.directives or ()
            if isinstance(definition, OperationDefinitionNode):
                for variable in definition.variable_definitions or ():
                    yield variable.directives or ()
            sets.append(definition.selection_set)
    while sets:
        for selection in sets.pop().selections:
            yield selection.directives or ()
            inner = cast("SelectionSetNode | None", getattr(selection, "selection_set", None))
            if inner is not None:
                sets.append(inner)


def _directive_error(
    lists: Iterable[Sequence[DirectiveNode]], repeatable: frozenset[str], limit: int
) -> GraphQLError | None:
    """The first position with more than `limit` directives or a repeated one, if any."""
    for directives in lists:
        if len(directives) > limit:
            return GraphQLError(
                f"{len(directives)} directives at one location. Allowed: {limit}", directives[0]
            )
        seen: set[str] = set()
        for directive in directives:
            name = directive.name.value
            if name in seen and name not in repeatable:
                return GraphQLError(
                    f"The directive '@{name}' can only be used once at this location.", directive
                )
            seen.add(name)
    return None


def limit_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    max_depth: int,
    max_aliases: int,
    max_directives: int,
) -> list[GraphQLError]:
    """What the document breaks of the limits: operations nested deeper than `max_depth`
    fields (introspection aside), more than `max_aliases` aliases (each fragment spread
    counted), more than `max_directives` directives at one position, or one directive twice
    at a position (unless it is repeatable). At most one error per limit."""
    errors: list[GraphQLError] = []
    measure = _Measure(document)
    total_aliases = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        depth, aliases = measure(definition)
        total_aliases += aliases
        if depth > max_depth:
            name = definition.name.value if definition.name else "anonymous"
            errors.append(
                GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", definition)
            )
    if total_aliases > max_aliases:
        errors.append(GraphQLError(f"{total_aliases} aliases found. Allowed: {max_aliases}"))
    repeatable = frozenset(d.name for d in schema.directives if d.is_repeatable)
    directive_error = _directive_error(_directive_lists(document), repeatable, max_directives)
    if directive_error is not None:
        errors.append(directive_error)
    return errors


class DocumentLimits(SchemaExtension):
    """Refuses a document over the shape limits before the rest of validation runs (a
    document the cache already validated is not measured again)."""

    def __init__(self, *, max_depth: int, max_aliases: int, max_directives: int) -> None:
        self.max_depth = max_depth
        self.max_aliases = max_aliases
        self.max_directives = max_directives

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # pre_execution_errors is set already: the cache's verdict, or an earlier refusal.
        if document is not None and context.pre_execution_errors is None:
            errors = limit_errors(
                context.schema._schema,
                document,
                max_depth=self.max_depth,
                max_aliases=self.max_aliases,
                max_directives=self.max_directives,
            )
            if errors:
                # Set, strawberry skips the remaining validation and answers these.
                context.pre_execution_errors = errors
        yield
