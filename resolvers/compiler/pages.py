"""Pages in SQL: the sort columns a connection orders by, its cursors written byte for byte as
`resolvers.pagination.encode_cursor` writes them, and the page arguments checked and decoded
as `resolvers.pagination.page_statement` does (any error: Unsupported, the executor reports
it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql.functions import FunctionElement

from resolvers.catalog.queries import DEFAULT_DIRECTION, ProductSortField, SortDirection
from resolvers.compiler.mapping import iso_datetime
from resolvers.compiler.selection import Unsupported
from resolvers.errors import ApiError
from resolvers.pagination import PageArgs, SortKey, decode_cursor

CASTS = {
    "created_at": "timestamptz",
    "price": "numeric",
    "rating_average": "numeric",
    "name": "text",
    "id": "bigint",
    # A search's rank (`search_rank`, a real): cursors hold it as a double, compared as one.
    "search_rank": "float8",
    "verified_purchase": "boolean",
}
# The column a search's rank is selected as, beside the row's own (see `connection_sql`).
RANK_COLUMN = "search_rank"
# Sort columns whose cursor value the executor writes as a JSON string of the column's text
# (datetimes in isoformat, Decimals as str): the SQL writes the same bytes.
CURSOR_TEXT = {"price": "{t}.price::text", "rating_average": "{t}.rating_average::text"}
# Sort columns whose cursor value is a JSON number or boolean: the SQL writes Python's text.
CURSOR_JSON = {
    "id": "{t}.id::text",
    "verified_purchase": "{t}.verified_purchase::text",
    # The rank, a real, read by asyncpg as a Python float: its repr (1.0, 0.10000000149011612,
    # 1e-05) is PostgreSQL's shortest text of the double, with ".0" when that is an integer.
    "search_rank": "(CASE WHEN {t}.search_rank::float8::text ~ '[.e]'"
    " THEN {t}.search_rank::float8::text ELSE {t}.search_rank::float8::text || '.0' END)",
}


def python_json_string(value: str) -> str:
    """`json.dumps` of a text as Python writes it (ensure_ascii): PostgreSQL's JSON string
    with each non-ASCII character as `\\uXXXX` (a surrogate pair beyond the BMP)."""
    return (
        "(SELECT string_agg(CASE WHEN ascii(ch) < 128 THEN ch"
        " WHEN ascii(ch) < 65536 THEN '\\u' || lpad(to_hex(ascii(ch)), 4, '0')"
        " ELSE '\\u' || to_hex(55296 + ((ascii(ch) - 65536) >> 10))"
        " || '\\u' || to_hex(56320 + ((ascii(ch) - 65536) & 1023)) END, '' ORDER BY n)"
        f" FROM unnest(string_to_array(to_json({value})::text, NULL)) WITH ORDINALITY AS s(ch, n))"
    )


def cursor_sql(keys: list[SortKey[Any]], alias: str, prefix: str = "") -> str:
    """`resolvers.pagination.encode_cursor` in SQL: unpadded urlsafe base64 of the compact
    JSON array of the row's sort values (after `prefix`, a mode's mark, see `EdgeData`)."""
    parts: list[str] = []
    for key in keys:
        column = column_name(key)
        if column == "created_at":
            parts.append("'\"' || " + iso_datetime("created_at").format(t=alias) + " || '\"'")
        elif column == "name":
            parts.append(python_json_string(f"{alias}.name"))
        elif column in CURSOR_JSON:
            parts.append(CURSOR_JSON[column].format(t=alias))
        elif column in CURSOR_TEXT:
            parts.append("'\"' || " + CURSOR_TEXT[column].format(t=alias) + " || '\"'")
        else:
            raise Unsupported(f"cursor of {column}")
    raw = "'[' || " + " || ',' || ".join(parts) + " || ']'"
    encoded = f"rtrim(translate(encode(convert_to({raw}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"
    if prefix:
        assert prefix.isascii()
        assert "'" not in prefix
        assert "\\" not in prefix
        return f"('{prefix}' || {encoded})"
    return encoded


def column_name(key: SortKey[Any]) -> str:
    if isinstance(key.column, FunctionElement):  # a search's rank: selected as RANK_COLUMN
        return RANK_COLUMN
    name = getattr(key.column, "key", None)
    if not isinstance(name, str) or name not in CASTS:
        raise Unsupported("sort column")
    return name


@dataclass(frozen=True)
class Window:
    """Which rows of a list a page shows: `size` of them after/before the decoded cursor
    values, the first ones or (`backwards`, `last`) the last."""

    size: int
    backwards: bool
    after: list[Any] | None = None
    before: list[Any] | None = None


def page_args(arguments: Mapping[str, Any]) -> PageArgs:
    return PageArgs(
        first=arguments.get("first"),
        after=arguments.get("after"),
        last=arguments.get("last"),
        before=arguments.get("before"),
    )


def page_window(args: PageArgs, keys: list[SortKey[Any]]) -> Window:
    """`resolvers.pagination.page_statement`'s checks and cursors (its errors: Unsupported)."""
    try:
        size, backwards = args.validated()
        after = decode_cursor(args.after, keys) if args.after is not None else None
        before = decode_cursor(args.before, keys) if args.before is not None else None
    except ApiError as error:
        raise Unsupported(f"the executor reports this error: {error}") from error
    return Window(size, backwards, after, before)


def product_sort(value: Any) -> tuple[ProductSortField | None, SortDirection | None]:
    """The sort as `schema.catalog_inputs.sort_of` passes it (None: the resolver's default)."""
    if value is None:
        return None, None
    field = value.get("field")
    direction = value.get("direction")
    if not isinstance(field, ProductSortField) or not isinstance(direction, SortDirection | None):
        raise Unsupported("sort")
    return field, direction or DEFAULT_DIRECTION.get(field, SortDirection.DESC)
