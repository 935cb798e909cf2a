"""Keyset (cursor) pagination over SQLAlchemy selects.

Cursors encode the sort key of a row, not an offset, so pages stay stable while rows are
inserted, and every page costs an index range scan instead of an OFFSET walk. The sort always
ends with a unique key (the id), so ties never repeat or skip a row.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from db.session import SessionFactory
from resolvers.errors import BadUserInput

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# Cursor values come back from clients: each is checked to be what the column holds, so a
# forged cursor is BAD_USER_INPUT rather than a database error (wrong type, out of range, NUL).
def int_value(raw: Any) -> int:
    if type(raw) is not int or not -(2**63) <= raw < 2**63:
        raise ValueError("not a key")
    return raw


def text_value(raw: Any) -> str:
    # NUL and lone surrogates: PostgreSQL cannot take them as a parameter.
    if not isinstance(raw, str) or "\x00" in raw or _SURROGATE.search(raw):
        raise ValueError("not a text")
    return raw


def decimal_value(raw: Any) -> Decimal:
    if not isinstance(raw, str):
        raise ValueError("not a decimal")
    value = Decimal(raw)  # InvalidOperation (an ArithmeticError) for garbage
    if not value.is_finite() or abs(value.adjusted()) > 1000:
        raise ValueError("not a finite decimal")
    return value


def float_value(raw: Any) -> float:
    if type(raw) not in (int, float) or not math.isfinite(raw):
        raise ValueError("not a number")
    return float(raw)


def datetime_value(raw: Any) -> datetime:
    value = datetime.fromisoformat(raw)  # TypeError for a non-string
    if value.tzinfo is None:
        raise ValueError("not an aware datetime")
    return value


DECODERS: dict[type, Callable[[Any], Any]] = {
    int: int_value,
    str: text_value,
    Decimal: decimal_value,
    float: float_value,
    datetime: datetime_value,
}


def _column_decoder(column: Any) -> Callable[[Any], Any]:
    try:
        python_type = column.type.python_type
    except NotImplementedError:  # an expression of no declared type
        python_type = None
    decoder = DECODERS.get(python_type) if python_type is not None else None
    if decoder is None:
        raise RuntimeError(f"Give SortKey({column}) a decode function.")
    return decoder


@dataclass(frozen=True)
class SortKey(Generic[T]):
    """One column of the ordering, and how to read its value off a result row.

    `decode` turns a cursor's value back into a query parameter, raising ValueError (or
    TypeError, ArithmeticError) for one the column cannot hold; by default it follows the
    column's type.
    """

    column: ColumnElement[Any] | InstrumentedAttribute[Any]
    value_of: Callable[[T], Any]
    descending: bool = False
    decode: Callable[[Any], Any] | None = None

    def decode_value(self, raw: Any) -> Any:
        return (self.decode or _column_decoder(self.column))(raw)


def datetime_key(
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    value_of: Callable[[T], Any],
    *,
    descending: bool = False,
) -> SortKey[T]:
    return SortKey(column, value_of, descending, decode=datetime_value)


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def validated(self) -> tuple[int, bool]:
        """(page size, paging backwards?), or BAD_USER_INPUT for arguments that make no sense."""
        if self.first is not None and self.last is not None:
            raise BadUserInput("Pass either `first` or `last`, not both.")
        size = self.last if self.last is not None else self.first
        if size is None:
            size = DEFAULT_PAGE_SIZE
        name = "last" if self.last is not None else "first"
        if size < 0:
            raise BadUserInput(f"`{name}` must not be negative.")
        if size > MAX_PAGE_SIZE:
            raise BadUserInput(f"`{name}` must be at most {MAX_PAGE_SIZE}; page with `after`.")
        return size, self.last is not None


@dataclass
class EdgeData(Generic[T]):
    node: T
    keys: Sequence[SortKey[T]] = field(repr=False)
    # Marks cursors of a particular mode of a list (see resolvers.catalog.queries).
    prefix: str = ""

    @property
    def cursor(self) -> str:
        # Encoded only when asked for: most clients read only the page's end cursor.
        return self.prefix + encode_cursor([key.value_of(self.node) for key in self.keys])


@dataclass
class PageInfoData:
    has_next_page: bool
    has_previous_page: bool
    edges: list[EdgeData[Any]] = field(repr=False)

    @property
    def start_cursor(self) -> str | None:
        return self.edges[0].cursor if self.edges else None

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1].cursor if self.edges else None


Counter = Callable[[], Awaitable[int]]


@dataclass
class Page(Generic[T]):
    edges: list[EdgeData[T]]
    page_info: PageInfoData
    counter: Counter = field(repr=False)

    async def total_count(self) -> int:
        return await self.counter()


def statement_counter(sessions: SessionFactory, statement: Select[Any]) -> Counter:
    """Counts the rows of `statement` (filters applied) in its own session, when asked."""
    count_statement = select(func.count()).select_from(statement.order_by(None).subquery())

    async def count() -> int:
        async with sessions() as session:
            return int((await session.execute(count_statement)).scalar_one())

    return count


def page_from_rows(
    rows: list[T], keys: Sequence[SortKey[T]], args: PageArgs, size: int, counter: Counter
) -> Page[T]:
    """A page from up to size + 1 rows fetched in the requested direction."""
    backwards = args.last is not None
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    edges = [EdgeData(row, keys) for row in rows]
    info = PageInfoData(
        has_next_page=has_more if not backwards else args.before is not None,
        has_previous_page=has_more if backwards else args.after is not None,
        edges=edges,
    )
    return Page(edges, info, counter)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey[Any]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError("wrong shape")
        return [
            key.decode_value(value) if value is not None else None
            for key, value in zip(keys, raw, strict=True)
        ]
    except (
        ValueError,
        TypeError,
        ArithmeticError,
        UnicodeError,
        binascii.Error,
        RecursionError,  # JSON nested too deeply to decode
    ) as error:
        raise BadUserInput(f"{cursor!r} is not a valid cursor for this list.") from error


def _beyond(
    keys: Sequence[SortKey[Any]], values: Sequence[Any], *, forward: bool
) -> ColumnElement[bool]:
    """Rows strictly after (forward) or before the cursor position in the key ordering."""
    if len({key.descending for key in keys}) == 1:
        columns = tuple_(*(key.column for key in keys))
        cursor = tuple_(*values)
        ascending = not keys[0].descending
        return columns > cursor if ascending == forward else columns < cursor
    clauses: list[ColumnElement[bool]] = []
    for index, key in enumerate(keys):
        equal = [keys[i].column == values[i] for i in range(index)]
        greater = (not key.descending) == forward
        step = key.column > values[index] if greater else key.column < values[index]
        clauses.append(and_(*equal, step))
    return or_(false(), *clauses)


def page_statement(statement: Select[T], keys: Sequence[SortKey[Any]], args: PageArgs) -> Select[T]:
    """`statement` narrowed to the rows after/before the cursors, ordered, limited to size + 1."""
    size, backwards = args.validated()
    if args.after is not None:
        statement = statement.where(_beyond(keys, decode_cursor(args.after, keys), forward=True))
    if args.before is not None:
        statement = statement.where(_beyond(keys, decode_cursor(args.before, keys), forward=False))
    order = [key.column.desc() if key.descending != backwards else key.column.asc() for key in keys]
    return statement.order_by(*order).limit(size + 1)


async def paginate(
    sessions: SessionFactory,
    statement: Select[T],
    keys: Sequence[SortKey[T]],
    args: PageArgs,
) -> Page[T]:
    """Run one page of `statement` (filters applied, no ORDER BY) in a fresh session.

    The total is counted by its own statement, and only when a client asks for it: a
    `count(*) OVER ()` here would make PostgreSQL sort every matching row for every page.
    """
    size, _ = args.validated()
    narrowed = page_statement(statement, keys, args)
    async with sessions() as session:
        rows = list((await session.execute(narrowed)).scalars().all())
    return page_from_rows(rows, keys, args, size, statement_counter(sessions, statement))
