"""Keyset pagination: page arguments, cursors, page assembly and the SQL of a page.

No database: statements are compiled with the PostgreSQL dialect and read as text.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Compiled

from db.catalog import Product
from resolvers.errors import BadUserInput
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PageArgs,
    SortKey,
    datetime_key,
    decode_cursor,
    encode_cursor,
    page_from_rows,
    page_statement,
)

ID: SortKey[Product] = SortKey(Product.id, lambda product: product.id)
ID_DESC: SortKey[Product] = SortKey(Product.id, lambda product: product.id, descending=True)
NAME: SortKey[Product] = SortKey(Product.name, lambda product: product.name)
PRICE: SortKey[Product] = SortKey(Product.price, lambda product: product.price)
PRICE_DESC: SortKey[Product] = SortKey(
    Product.price, lambda product: product.price, descending=True
)
CREATED: SortKey[Product] = datetime_key(Product.created_at, lambda product: product.created_at)
CREATED_DESC: SortKey[Product] = datetime_key(
    Product.created_at, lambda product: product.created_at, descending=True
)
# page_from_rows never reads the column: rows here are plain ints, their own key.
NUMBER: SortKey[int] = SortKey(Product.id, lambda number: number)

# The dialect class is untyped in SQLAlchemy's stubs.
DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]

AWARE = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))


def _forged(raw_json: str) -> str:
    return base64.urlsafe_b64encode(raw_json.encode()).decode()


async def _count() -> int:
    return 1234


def _compiled(statement: Select[Any]) -> Compiled:
    return statement.compile(dialect=DIALECT)


def _sql(statement: Select[Any]) -> str:
    return " ".join(str(_compiled(statement)).split())


def _limit(statement: Select[Any]) -> Any:
    compiled = _compiled(statement)
    match = re.search(r"LIMIT %\((\w+)\)s", str(compiled))
    assert match is not None
    return compiled.params[match.group(1)]


def _order_by(statement: Select[Any]) -> str:
    sql = _sql(statement)
    return sql[sql.index("ORDER BY ") + len("ORDER BY ") : sql.index(" LIMIT")]


def _where(statement: Select[Any]) -> str:
    """The WHERE clause, without the casts the dialect puts on some parameters."""
    sql = re.sub(r"::(?:TIMESTAMP WITH TIME ZONE|[A-Z]+)", "", _sql(statement))
    return sql[sql.index("WHERE ") + len("WHERE ") : sql.index(" ORDER BY")]


# --- PageArgs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (PageArgs(), (DEFAULT_PAGE_SIZE, False)),
        (PageArgs(after="c"), (DEFAULT_PAGE_SIZE, False)),
        (PageArgs(before="c"), (DEFAULT_PAGE_SIZE, False)),
        (PageArgs(first=5), (5, False)),
        (PageArgs(first=0), (0, False)),
        (PageArgs(first=MAX_PAGE_SIZE), (MAX_PAGE_SIZE, False)),
        (PageArgs(last=7), (7, True)),
        (PageArgs(last=0), (0, True)),
        (PageArgs(last=MAX_PAGE_SIZE, before="c"), (MAX_PAGE_SIZE, True)),
    ],
)
def test_validated_gives_size_and_direction(args: PageArgs, expected: tuple[int, bool]) -> None:
    assert args.validated() == expected


def test_default_and_maximum_page_sizes() -> None:
    assert (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) == (20, 100)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (PageArgs(first=-1), "`first` must not be negative."),
        (PageArgs(last=-1), "`last` must not be negative."),
        (PageArgs(first=101), "`first` must be at most 100; page with `after`."),
        (PageArgs(last=101), "`last` must be at most 100; page with `after`."),
        (PageArgs(first=1, last=1), "Pass either `first` or `last`, not both."),
        (PageArgs(first=0, last=0), "Pass either `first` or `last`, not both."),
    ],
)
def test_validated_refuses_arguments_that_make_no_sense(args: PageArgs, message: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        args.validated()
    assert raised.value.message == message
    assert raised.value.extensions == {"code": "BAD_USER_INPUT"}


# --- cursors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "values"),
    [
        ([ID], [42]),
        ([ID], [-(2**63)]),
        ([ID], [2**63 - 1]),
        ([NAME, ID], ['Żółw ☕ "quoted" \\ back', 3]),
        ([NAME, ID], ["", 3]),
        ([PRICE, ID], [Decimal("19.99"), 3]),
        ([PRICE, ID], [Decimal("-0.5"), 3]),
        ([CREATED, ID], [AWARE, 3]),
        ([CREATED, ID], [datetime(2024, 1, 1, tzinfo=UTC), 3]),
        ([CREATED, PRICE, NAME, ID], [AWARE, Decimal("1.50"), "x", 3]),
        ([PRICE, ID], [None, 3]),
    ],
)
def test_cursor_round_trips(keys: list[SortKey[Product]], values: list[Any]) -> None:
    assert decode_cursor(encode_cursor(values), keys) == values


def test_cursor_keeps_a_decimals_exponent() -> None:
    (price,) = decode_cursor(encode_cursor([Decimal("19.90")]), [PRICE])
    assert str(price) == "19.90"


def test_cursor_keeps_a_datetimes_offset() -> None:
    (created, _) = decode_cursor(encode_cursor([AWARE, 1]), [CREATED, ID])
    assert created.utcoffset() == timedelta(hours=2)


def test_datetime_column_decodes_without_datetime_key() -> None:
    plain: SortKey[Product] = SortKey(Product.created_at, lambda product: product.created_at)
    assert decode_cursor(encode_cursor([AWARE]), [plain]) == [AWARE]


def test_cursor_is_unpadded_url_safe_base64() -> None:
    cursor = encode_cursor(["~~~?", 1])
    assert not {"=", "+", "/"} & set(cursor)
    assert len(cursor) % 4 != 0  # the case that needs padding put back
    assert decode_cursor(cursor, [NAME, ID]) == ["~~~?", 1]


def test_a_key_with_a_custom_decode_uses_it() -> None:
    upper: SortKey[Product] = SortKey(Product.name, lambda p: p.name, decode=str.upper)
    assert decode_cursor(encode_cursor(["abc"]), [upper]) == ["ABC"]


def test_a_column_of_no_known_type_needs_a_decode_function() -> None:
    attributes: SortKey[Product] = SortKey(Product.attributes, lambda p: p.attributes)
    with pytest.raises(RuntimeError, match="decode function"):
        decode_cursor(encode_cursor([{}]), [attributes])


FORGED = [
    pytest.param("%%%", [ID], id="garbage"),
    pytest.param("a", [ID], id="impossible-length"),
    pytest.param("é", [ID], id="non-ascii"),
    pytest.param(encode_cursor([1]) + "!!", [ID], id="outside-the-alphabet"),
    pytest.param(_forged("hello"), [ID], id="not-json"),
    pytest.param(_forged('{"a":1}'), [ID], id="object"),
    pytest.param(_forged("42"), [ID], id="number"),
    pytest.param(_forged('"x"'), [ID], id="string"),
    pytest.param(_forged("[]"), [ID], id="too-short"),
    pytest.param(_forged("[1,2]"), [ID], id="too-long"),
    pytest.param(_forged("[true]"), [ID], id="bool-for-int"),
    pytest.param(_forged("[1.0]"), [ID], id="float-for-int"),
    pytest.param(_forged('["1"]'), [ID], id="string-for-int"),
    pytest.param(_forged(f"[{2**70}]"), [ID], id="int-too-big"),
    pytest.param(_forged(f"[{2**63}]"), [ID], id="int-just-too-big"),
    pytest.param(_forged(f"[{-(2**63) - 1}]"), [ID], id="int-too-small"),
    pytest.param(_forged('["a\\u0000b",1]'), [NAME, ID], id="NUL-in-text"),
    pytest.param(_forged("[1,1]"), [NAME, ID], id="int-for-text"),
    pytest.param(_forged('["2024-01-01T00:00:00",1]'), [CREATED, ID], id="naive-datetime"),
    pytest.param(_forged('["yesterday",1]'), [CREATED, ID], id="not-a-datetime"),
    pytest.param(_forged("[1704067200,1]"), [CREATED, ID], id="number-for-datetime"),
    pytest.param(_forged('["NaN",1]'), [PRICE, ID], id="NaN"),
    pytest.param(_forged('["sNaN",1]'), [PRICE, ID], id="signalling-NaN"),
    pytest.param(_forged('["Infinity",1]'), [PRICE, ID], id="infinity"),
    pytest.param(_forged('["-inf",1]'), [PRICE, ID], id="minus-infinity"),
    pytest.param(_forged('["1E+5000",1]'), [PRICE, ID], id="huge-exponent"),
    pytest.param(_forged('["abc",1]'), [PRICE, ID], id="not-a-decimal"),
    pytest.param(_forged("[1.5,1]"), [PRICE, ID], id="number-for-decimal"),
]


@pytest.mark.parametrize(("cursor", "keys"), FORGED)
def test_forged_cursor_is_bad_user_input(cursor: str, keys: list[SortKey[Product]]) -> None:
    with pytest.raises(BadUserInput) as raised:
        decode_cursor(cursor, keys)
    assert raised.value.message == f"{cursor!r} is not a valid cursor for this list."
    assert raised.value.extensions == {"code": "BAD_USER_INPUT"}


def test_cursor_with_a_lone_surrogate_in_text_is_bad_user_input() -> None:
    # asyncpg encodes text parameters as UTF-8, which a lone surrogate cannot be: let through,
    # it fails when the query runs, as an internal error instead of BAD_USER_INPUT.
    with pytest.raises(BadUserInput):
        decode_cursor(_forged('["\\ud800",1]'), [NAME, ID])


def test_deeply_nested_cursor_is_bad_user_input() -> None:
    # json.loads raises RecursionError (not a ValueError) past the interpreter's depth limit.
    with pytest.raises(BadUserInput):
        decode_cursor(_forged("[" * 100_000), [ID])


# --- page_from_rows ---------------------------------------------------------------------------


def test_forward_first_page_with_more_rows() -> None:
    page = page_from_rows([1, 2, 3, 4], [NUMBER], PageArgs(first=3), 3, _count)
    assert [edge.node for edge in page.edges] == [1, 2, 3]
    assert page.page_info.has_next_page
    assert not page.page_info.has_previous_page


def test_forward_last_page_has_no_next_page() -> None:
    page = page_from_rows([1, 2, 3], [NUMBER], PageArgs(first=3), 3, _count)
    assert [edge.node for edge in page.edges] == [1, 2, 3]
    assert not page.page_info.has_next_page


def test_forward_page_after_a_cursor_has_a_previous_page() -> None:
    args = PageArgs(first=2, after=encode_cursor([1]))
    page = page_from_rows([2, 3], [NUMBER], args, 2, _count)
    assert page.page_info.has_previous_page
    assert not page.page_info.has_next_page


def test_backward_page_reverses_rows_and_drops_the_extra_one() -> None:
    # Fetched nearest-first in reverse order: 9, 8, 7 and the extra 6.
    page = page_from_rows([9, 8, 7, 6], [NUMBER], PageArgs(last=3), 3, _count)
    assert [edge.node for edge in page.edges] == [7, 8, 9]
    assert page.page_info.has_previous_page
    assert not page.page_info.has_next_page


def test_backward_first_page_has_no_previous_page() -> None:
    page = page_from_rows([2, 1], [NUMBER], PageArgs(last=3), 3, _count)
    assert [edge.node for edge in page.edges] == [1, 2]
    assert not page.page_info.has_previous_page


def test_backward_page_before_a_cursor_has_a_next_page() -> None:
    args = PageArgs(last=2, before=encode_cursor([10]))
    page = page_from_rows([9, 8], [NUMBER], args, 2, _count)
    assert [edge.node for edge in page.edges] == [8, 9]
    assert page.page_info.has_next_page
    assert not page.page_info.has_previous_page


def test_page_from_rows_leaves_the_fetched_list_alone() -> None:
    rows = [9, 8, 7]
    page_from_rows(rows, [NUMBER], PageArgs(last=3), 3, _count)
    assert rows == [9, 8, 7]


def test_page_cursors_are_the_first_and_last_rows_keys() -> None:
    page = page_from_rows([1, 2, 3, 4], [NUMBER, NUMBER], PageArgs(first=3), 3, _count)
    assert page.page_info.start_cursor == encode_cursor([1, 1])
    assert page.page_info.end_cursor == encode_cursor([3, 3])
    assert page.edges[1].cursor == encode_cursor([2, 2])


def test_empty_page_has_no_cursors_and_no_neighbours() -> None:
    page = page_from_rows([], [NUMBER], PageArgs(first=3), 3, _count)
    assert page.edges == []
    assert page.page_info.start_cursor is None
    assert page.page_info.end_cursor is None
    assert not page.page_info.has_next_page
    assert not page.page_info.has_previous_page


async def test_total_count_comes_from_the_counter() -> None:
    page = page_from_rows([1], [NUMBER], PageArgs(), 20, _count)
    assert await page.total_count() == 1234


# --- page_statement ---------------------------------------------------------------------------


def test_forward_statement_orders_by_the_keys_and_fetches_one_extra() -> None:
    statement = page_statement(select(Product.id), [NAME, ID], PageArgs(first=5))
    assert _order_by(statement) == "products.name ASC, products.id ASC"
    assert _limit(statement) == 6
    assert "WHERE" not in _sql(statement)


def test_default_page_fetches_one_more_than_the_default_size() -> None:
    statement = page_statement(select(Product.id), [ID], PageArgs())
    assert _limit(statement) == DEFAULT_PAGE_SIZE + 1


def test_empty_page_still_fetches_one_row_to_know_if_there_is_more() -> None:
    statement = page_statement(select(Product.id), [ID], PageArgs(first=0))
    assert _limit(statement) == 1


def test_backward_statement_flips_every_direction() -> None:
    statement = page_statement(select(Product.id), [NAME, ID], PageArgs(last=5))
    assert _order_by(statement) == "products.name DESC, products.id DESC"
    assert _limit(statement) == 6


def test_backward_statement_flips_descending_keys_to_ascending() -> None:
    statement = page_statement(select(Product.id), [CREATED_DESC, ID_DESC], PageArgs(last=5))
    assert _order_by(statement) == "products.created_at ASC, products.id ASC"


def test_mixed_directions_flip_key_by_key() -> None:
    keys = [PRICE_DESC, ID]
    forward = page_statement(select(Product.id), keys, PageArgs(first=5))
    backward = page_statement(select(Product.id), keys, PageArgs(last=5))
    assert _order_by(forward) == "products.price DESC, products.id ASC"
    assert _order_by(backward) == "products.price ASC, products.id DESC"


@pytest.mark.parametrize(
    ("keys", "args", "operator"),
    [
        ([NAME, ID], PageArgs(first=5, after=encode_cursor(["x", 3])), ">"),
        ([NAME, ID], PageArgs(last=5, before=encode_cursor(["x", 3])), "<"),
        ([NAME, ID], PageArgs(first=5, before=encode_cursor(["x", 3])), "<"),
        ([CREATED_DESC, ID_DESC], PageArgs(first=5, after=encode_cursor([AWARE, 3])), "<"),
        ([CREATED_DESC, ID_DESC], PageArgs(last=5, before=encode_cursor([AWARE, 3])), ">"),
    ],
)
def test_same_direction_keys_compare_as_a_row(
    keys: list[SortKey[Product]], args: PageArgs, operator: str
) -> None:
    statement = page_statement(select(Product.id), keys, args)
    columns = ", ".join(str(key.column).replace("Product.", "products.") for key in keys)
    assert _where(statement) == f"({columns}) {operator} (%(param_1)s, %(param_2)s)"


def test_row_comparison_binds_the_cursor_values() -> None:
    args = PageArgs(first=5, after=encode_cursor(["x", 3]))
    params = _compiled(page_statement(select(Product.id), [NAME, ID], args)).params
    assert {value for value in params.values() if value != 6} == {"x", 3}


def test_mixed_direction_keys_expand_into_or_clauses_after_a_cursor() -> None:
    args = PageArgs(first=5, after=encode_cursor([Decimal("1.50"), 3]))
    statement = page_statement(select(Product.id), [PRICE_DESC, ID], args)
    assert _where(statement) == (
        "products.price < %(price_1)s OR products.price = %(price_2)s AND products.id > %(id_1)s"
    )
    params = _compiled(statement).params
    assert (params["price_1"], params["price_2"], params["id_1"]) == (Decimal("1.50"),) * 2 + (3,)


def test_mixed_direction_keys_expand_into_or_clauses_before_a_cursor() -> None:
    args = PageArgs(last=5, before=encode_cursor([Decimal("1.50"), 3]))
    statement = page_statement(select(Product.id), [PRICE_DESC, ID], args)
    assert _where(statement) == (
        "products.price > %(price_1)s OR products.price = %(price_2)s AND products.id < %(id_1)s"
    )


def test_three_mixed_keys_expand_one_clause_per_key() -> None:
    args = PageArgs(first=5, after=encode_cursor([Decimal("1.50"), "x", 3]))
    statement = page_statement(select(Product.id), [PRICE_DESC, NAME, ID], args)
    assert _where(statement) == (
        "products.price < %(price_1)s"
        " OR products.price = %(price_2)s AND products.name > %(name_1)s"
        " OR products.price = %(price_3)s AND products.name = %(name_2)s"
        " AND products.id > %(id_1)s"
    )


def test_after_and_before_together_bound_both_ends() -> None:
    args = PageArgs(first=5, after=encode_cursor([1]), before=encode_cursor([9]))
    statement = page_statement(select(Product.id), [ID], args)
    where = _where(statement)
    assert where == "(products.id) > (%(param_1)s) AND (products.id) < (%(param_2)s)"


def test_page_statement_refuses_invalid_arguments() -> None:
    with pytest.raises(BadUserInput):
        page_statement(select(Product.id), [ID], PageArgs(first=1, last=1))


def test_page_statement_refuses_a_forged_cursor() -> None:
    with pytest.raises(BadUserInput):
        page_statement(select(Product.id), [NAME, ID], PageArgs(after=_forged("[1,1]")))


def test_page_statement_keeps_existing_filters() -> None:
    base = select(Product.id).where(Product.stock > 0)
    args = PageArgs(first=5, after=encode_cursor([1]))
    where = _where(page_statement(base, [ID], args))
    assert where == "products.stock > %(stock_1)s AND (products.id) > (%(param_1)s)"
