"""The product listing (`products`): filters, sorts, search with its ranking and typo fallback,
as `resolvers.catalog.queries.list_products` reads them, in SQL.

A search with words reads the full-text page; when nothing matches (and no cursor says which
mode the client is paging) it reads the trigram page instead, whose cursors carry the mark
`TRIGRAM_CURSOR`: one statement, `coalesce(the full-text page or NULL, the trigram page)`.
The rules (checks, defaults, terms, the tsquery, the threshold) are the resolvers' own; any
error they raise means the executor answers, and reports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from graphql import FieldNode, GraphQLField
from sqlalchemy import func

from db.catalog import ProductStatus
from db.product_filters import TRIGRAM_THRESHOLD, search_terms
from resolvers.catalog.queries import (
    TRIGRAM_CURSOR,
    ProductFilterData,
    ProductSortField,
    SortDirection,
    _strip_mode,
    filter_conditions,
    product_conditions,
    sort_keys,
)
from resolvers.compiler.build import Builder
from resolvers.compiler.mapping import TYPES, Role
from resolvers.compiler.pages import RANK_COLUMN, page_args, page_window, product_sort
from resolvers.compiler.selection import Unsupported
from resolvers.errors import ApiError
from resolvers.pagination import PageArgs

Where = Callable[[str], str]
# A finite number as `str` writes a Decimal or an int (`number_literal`).
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]*)?(E[-+]?[0-9]+)?")
# Stands for the rank in `sort_keys` (the compiler selects it as RANK_COLUMN).
RANK = func.search_rank()


class ProductListing(Builder):
    def products_sql(
        self, definition: GraphQLField, arguments: dict[str, Any], nodes: list[FieldNode]
    ) -> str:
        data = filter_data(arguments.get("filter"))
        try:
            filter_conditions(self.role is Role.STAFF, data)  # the executor's checks
            conditions = product_conditions(data)
            field, direction = product_sort(arguments.get("sort"))
            terms = search_terms(data.search) if data.search else []
            field = field or (ProductSortField.RELEVANCE if terms else ProductSortField.CREATED_AT)
            direction = direction or SortDirection.DESC
            nothing = not terms and data.search is not None
            if nothing and field is ProductSortField.RELEVANCE:
                field = ProductSortField.CREATED_AT
            ranked = field is ProductSortField.RELEVANCE
            keys = sort_keys(field, direction, RANK if terms else None)
            args = page_args(arguments)
            after, before, trigram = args.after, args.before, False
            if terms:  # a search's cursors say which mode they page (`_strip_mode`)
                after, trigram_after = _strip_mode(after)
                before, trigram_before = _strip_mode(before)
                trigram = trigram_after or trigram_before
            window = page_window(PageArgs(args.first, after, args.last, before), keys)
        except ApiError as error:
            raise Unsupported(f"the executor reports this error: {error}") from error

        filtered: list[str] = []
        if conditions.no_category_match or nothing:
            filtered.append("false")
        elif conditions.category_id is not None:
            category = number_literal(conditions.category_id, "bigint")
            if conditions.include_descendants:
                filtered.append(
                    "{row}.category_id IN (SELECT c.id FROM categories AS c"
                    f" WHERE c.id = {category} OR c.path @> ARRAY[{category}])"
                )
            else:
                filtered.append(f"{{row}}.category_id = {category}")
        if data.price_min is not None:
            filtered.append(f"{{row}}.price >= {number_literal(data.price_min, 'numeric')}")
        if data.price_max is not None:
            filtered.append(f"{{row}}.price <= {number_literal(data.price_max, 'numeric')}")
        if data.in_stock is not None:
            filtered.append("{row}.stock > 0" if data.in_stock else "{row}.stock = 0")
        if data.rating_min is not None:
            minimum = number_literal(Decimal(str(data.rating_min)), "numeric")
            filtered.append(f"{{row}}.rating_count > 0 AND {{row}}.rating_average >= {minimum}")
        if data.status is not None:
            status = ProductStatus(data.status)
            filtered.append(f"{{row}}.status = '{status.value}'")

        def where(row: str) -> str:
            return " AND ".join(
                [self.visible("Product", row)] + [c.format(row=row) for c in filtered]
            )

        product, connection = TYPES["Product"], self.connection_sql
        if not terms:
            return connection(product, definition, nodes, where, keys, window)

        def page(match: tuple[Where, str], prefix: str = "", null_if_empty: bool = False) -> str:
            matching, rank = match
            source = f"(SELECT p.*, {rank} AS {RANK_COLUMN} FROM products AS p)" if ranked else None
            return connection(
                product,
                definition,
                nodes,
                matching,
                keys,
                window,
                source=source,
                prefix=prefix,
                null_if_empty=null_if_empty,
            )

        # Only the mode(s) the statement reads: a parameter it does not use has no type.
        if trigram:
            return page(self.fuzzy(terms, where), TRIGRAM_CURSOR)
        full_text = self.full_text(terms, where)
        if after is not None or before is not None:
            return page(full_text)
        # The full-text page, or NULL when it read no row (not even the one past the page, so
        # a `first: 0` page with matches stays): then the trigram page. The page's own rows
        # decide, as in `list_products`: a separate EXISTS would be planned to stop at the
        # first match, as a scan of every product when none matches.
        fuzzy = page(self.fuzzy(terms, where), TRIGRAM_CURSOR)
        return f"coalesce({page(full_text, null_if_empty=True)}, {fuzzy})"

    def full_text(self, terms: list[str], where: Where) -> tuple[Where, str]:
        """`prefix_query` and `ts_rank_cd`, as the executor's full-text page."""
        every_term = " & ".join(f"{term}:*" for term in terms)
        if len(terms) > 1:
            every_term = f"({every_term}) | {''.join(terms)}:*"
        query = f"to_tsquery('english'::regconfig, {self.param(every_term, 'text')})"

        def matching(row: str) -> str:
            return f"{where(row)} AND {row}.search_vector @@ {query}"

        return matching, f"ts_rank_cd(p.search_vector, {query})"

    def fuzzy(self, terms: list[str], where: Where) -> tuple[Where, str]:
        """Trigram word similarity of the text and of every word, above the threshold, and
        the text's `<%` for the index (`db.product_filters.similar_names`)."""
        threshold = self.param(TRIGRAM_THRESHOLD, "float8")
        text = self.param(" ".join(terms), "text")
        words = [self.param(term, "text") for term in terms]

        def matching(row: str) -> str:
            similar = [f"{text} <% {row}.name"] + [
                f"word_similarity({word}, {row}.name) > {threshold}" for word in [text, *words]
            ]
            return " AND ".join([where(row), *similar])

        return matching, f"word_similarity({text}, p.name)"


def number_literal(value: Decimal | int, cast: str) -> str:
    """A filter's number written into the statement, not sent as a parameter.

    A plan is kept per set of variables anyway (`QueryCompiler.plan`), so the text changes
    nothing there; but PostgreSQL plans a statement with parameters again on every execution
    (their values decide the index: a generic plan of the rating filter read the whole table,
    14 ms instead of 0.1), while a statement without any is planned once per connection. The
    planning was half of the filtered listing's time in PostgreSQL. Only a finite number's own
    text is written (digits, a point, an exponent); anything else: the executor answers."""
    text = str(value)
    if isinstance(value, bool) or not _NUMBER.fullmatch(text):
        raise Unsupported("a filter number that is not a plain finite number")
    return f"'{text}'::{cast}"


def filter_data(value: Any) -> ProductFilterData:
    """The coerced `filter` argument (a dict by GraphQL names) as the resolvers take it."""
    if value is None:
        return ProductFilterData()
    known = {"search", "categoryId", "includeDescendants", "priceMin", "priceMax"}
    if set(value) - known - {"inStock", "ratingMin", "status"}:
        raise Unsupported("filter fields")
    return ProductFilterData(
        search=value.get("search"),
        category_id=value.get("categoryId"),
        include_descendants=bool(value.get("includeDescendants", False)),
        price_min=value.get("priceMin"),
        price_max=value.get("priceMax"),
        in_stock=value.get("inStock"),
        rating_min=value.get("ratingMin"),
        status=value.get("status"),
    )
