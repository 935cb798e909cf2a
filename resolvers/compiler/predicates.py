"""Visibility as SQL text: the executor's own rules (`resolvers.visibility`, through the
`resolvers.rows` a loader reads) rendered for a role class, not written a second time.

A rule is a function of the viewer returning SQLAlchemy conditions (a count: a statement).
For a role it is called with a stand-in viewer of that role whose `id` is a marker column,
rendered by PostgreSQL's dialect with literal values over an alias of the rule's table, and the
markers become the compiler's row alias and the plan's viewer parameter. Rules only ever branch
on the viewer's role (staff or not, signed in or not), never on who it is, so one rendering per
role class serves every viewer of the class (tests/unit/test_mapping.py renders each rule for
real users too and compares).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from sqlalchemy import Select, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.util import ClauseAdapter

from db.users import Role as UserRole
from db.users import User
from resolvers.compiler.mapping import Role
from resolvers.rows import Count, Rows

# Markers in the rendered text: the row alias and the viewer's id (the plan's parameter).
_ROW = "visible_row"
_VIEWER = "visible_viewer_id"
_OWNER = "visible_owner_id"
_ROW_COLUMN = re.compile(rf"\b{_ROW}\.")
_DIALECT: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]


def stand_in(role: Role, viewer_id: object = None) -> User | None:
    """A viewer of the role class whose id is `viewer_id` (by default the marker column)."""
    # The first declared role of the class stands for it (rules branch on the class only).
    user_role = next((r for r in UserRole if r in role.members), None)
    if user_role is None:
        return None
    user = User(role=user_role)
    # Rules compare columns with the viewer's id: a column here, so it renders as a name.
    user.id = cast(int, literal_column(_VIEWER) if viewer_id is None else viewer_id)
    return user


def render(rows: Rows[Any], viewer: User | None) -> str | None:
    """`rows.visible(viewer)` as SQL over the alias `visible_row` (None: every row)."""
    if rows.visible is None:
        return None
    alias = rows.model.__table__.alias(_ROW)
    condition = ClauseAdapter(alias).traverse(rows.visible(viewer))
    # Inside an enclosing SELECT over the alias, so a subquery correlates with it (EXISTS).
    statement: Select[Any] = (
        select(literal_column("1"))
        .select_from(alias)
        .where(condition.self_group(against=operators.and_))
    )
    text = str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    head = f"SELECT 1 \nFROM {rows.table} AS {_ROW} \nWHERE "
    assert text.startswith(head), text
    return text[len(head) :].replace(" \n", " ")


@cache
def _template(rows: Rows[Any], role: Role) -> str | None:
    return render(rows, stand_in(role))


def visible_sql(rows: Rows[Any], role: Role, alias: str, viewer: Callable[[], str]) -> str:
    """The rule of `rows` for `role` over the row alias `alias`; `viewer()` gives the viewer
    id's parameter, asked for only when the rule reads it."""
    template = _template(rows, role)
    if template is None:
        return "true"
    text = _ROW_COLUMN.sub(f"{alias}.", template)
    if _VIEWER in text:
        text = text.replace(_VIEWER, viewer())
    return text


@cache
def _count_template(count: Count, role: Role) -> str:
    statement = count(literal_column(_OWNER), stand_in(role))
    text = str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    return text.replace(" \n", " ")


def count_sql(count: Count, role: Role, owner_id: str, viewer: Callable[[], str]) -> str:
    """The executor's count statement (`resolvers.rows.Count`) for `role`, as a scalar
    subquery of the owner's id `owner_id` (SQL over the compiler's row alias)."""
    text = _count_template(count, role).replace(_OWNER, owner_id)
    if _VIEWER in text:
        text = text.replace(_VIEWER, viewer())
    return f"({text})"
