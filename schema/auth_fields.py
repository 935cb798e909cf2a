"""At most one authentication field per request: a validation rule.

`login`, `register`, `changePassword` and `resetPassword` each cost an argon2 hash, and
`requestPasswordReset` an email job; the sign-in and registration throttles count attempts per
field. One document repeating such a field (aliases, repeats, fragments) would multiply the
work of one request and let a client try many passwords at once: the operation is refused
before anything runs, with GRAPHQL_VALIDATION_FAILED.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)

AUTH_FIELDS = ("login", "register", "requestPasswordReset", "changePassword", "resetPassword")


class _RootFields:
    """The auth fields an operation's root selection names, every fragment spread counted."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.found: dict[str, list[str]] = {}
        self.entered: set[str] = set()

    def __call__(self, selection_set: SelectionSetNode) -> list[str]:
        found: list[str] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in AUTH_FIELDS:
                    found.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                found += self(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                found += self._fragment(selection.name.value)
        return found

    def _fragment(self, name: str) -> list[str]:
        # Memoised, so fragments spreading fragments cost linear time; an unknown fragment or
        # a cycle counts as nothing (KnownFragmentNames and NoFragmentCycles report those).
        if name not in self.found:
            fragment = self.fragments.get(name)
            if fragment is None or name in self.entered:
                return []
            self.entered.add(name)
            self.found[name] = self(fragment.selection_set)
            self.entered.discard(name)
        return self.found[name]


class OneAuthField(ValidationRule):
    """Refuses a mutation naming more than one of `AUTH_FIELDS` (each alias and repeat counts)."""

    def enter_document(self, node: DocumentNode, *_args: Any) -> None:
        root_fields = _RootFields(node)
        for definition in node.definitions:
            if (
                not isinstance(definition, OperationDefinitionNode)
                or definition.operation is not OperationType.MUTATION
            ):
                continue
            found = root_fields(definition.selection_set)
            if len(found) > 1:
                named = ", ".join(
                    f"{name} ({count} times)" if count > 1 else name
                    for name, count in Counter(found).items()
                )
                self.report_error(
                    GraphQLError(
                        f"A request may contain at most one of {', '.join(AUTH_FIELDS)}; "
                        f"this one has {len(found)} ({named}). Send them as separate requests.",
                        definition,
                        extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                    )
                )
