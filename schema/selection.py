"""Peeking at the client's selection, to skip work nobody asked for."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from app.context import Info


def _names(selections: Iterable[Selection]) -> Iterable[str]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection.name
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _names(selection.selections)


def selects(info: Info, field_name: str) -> bool:
    """Whether the current field's selection asks for `field_name` (fragments included)."""
    return any(field_name in _names(field.selections) for field in info.selected_fields)
