"""Product filters as SQL conditions, from plain values: one home for the listing and the export.

`resolvers.catalog.queries` validates a client's filter (ids, ranges, who may ask for what)
and turns it into a `ProductConditions`; the export job gets the same values as JSON (its
`params`) and builds the same conditions from them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Text, false, func, literal, or_, select

from db.catalog import Category, Product, ProductStatus

MAX_SEARCH_TERMS = 8
MAX_SEARCH_LENGTH = 200
# A search that full text misses falls back to names similar to its words (typos): pg_trgm's
# word similarity above this. Every connection sets pg_trgm.word_similarity_threshold to it
# (db.session), so that `<%`, which the trigram index on names answers, finds every candidate
# (`<%` is "similarity >= the setting"; the `>` below then decides, exactly as without it).
TRIGRAM_THRESHOLD = 0.3


def search_terms(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower()[:MAX_SEARCH_LENGTH])[:MAX_SEARCH_TERMS]


def prefix_query(terms: list[str]) -> ColumnElement[Any]:
    """Every term as a prefix ("lapt" finds "laptop"), all required; or, for a SKU typed with
    spaces or punctuation ("sku 0042"), the terms squashed together as one SKU prefix."""
    every_term = " & ".join(f"{term}:*" for term in terms)
    if len(terms) > 1:
        every_term = f"({every_term}) | {''.join(terms)}:*"
    return func.to_tsquery("english", every_term)


def similar_names(text: str, terms: list[str]) -> list[ColumnElement[bool]]:
    """Names like the search `text` (its `terms` joined) and like every one of its terms, each
    forgiving typos. The text's `<%` is the condition the trigram index answers, and only the
    text's: each `<%` costs the planner a look at the index (milliseconds, paid by every
    search, the statement holding both modes), and the text's candidates hold every answer."""
    return [
        literal(text, Text()).op("<%")(Product.name),
        *(func.word_similarity(word, Product.name) > TRIGRAM_THRESHOLD for word in [text, *terms]),
    ]


@dataclass(frozen=True)
class ProductConditions:
    # None: any category; a key that names no category matches nothing (`no_category_match`).
    category_id: int | None = None
    no_category_match: bool = False
    include_descendants: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    rating_min: float | None = None
    status: ProductStatus | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.no_category_match:
            conditions.append(false())
        elif self.category_id is not None:
            if self.include_descendants:
                in_tree = select(Category.id).where(
                    or_(Category.id == self.category_id, Category.path.contains([self.category_id]))
                )
                conditions.append(Product.category_id.in_(in_tree.scalar_subquery()))
            else:
                conditions.append(Product.category_id == self.category_id)
        if self.price_min is not None:
            conditions.append(Product.price >= self.price_min)
        if self.price_max is not None:
            conditions.append(Product.price <= self.price_max)
        if self.in_stock is not None:
            conditions.append(Product.stock > 0 if self.in_stock else Product.stock == 0)
        if self.rating_min is not None:
            conditions.append(Product.rating_count > 0)
            conditions.append(Product.rating_average >= Decimal(str(self.rating_min)))
        if self.status is not None:
            conditions.append(Product.status == self.status)
        return conditions

    def to_json(self) -> dict[str, Any]:
        return {
            key: (str(value) if isinstance(value, Decimal | ProductStatus) else value)
            for key, value in asdict(self).items()
            if value is not None and value is not False
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ProductConditions:
        def decimal(key: str) -> Decimal | None:
            return Decimal(raw[key]) if raw.get(key) is not None else None

        status = raw.get("status")
        return cls(
            category_id=raw.get("category_id"),
            no_category_match=bool(raw.get("no_category_match")),
            include_descendants=bool(raw.get("include_descendants")),
            price_min=decimal("price_min"),
            price_max=decimal("price_max"),
            in_stock=raw.get("in_stock"),
            rating_min=raw.get("rating_min"),
            status=ProductStatus(status) if status else None,
        )


def search_condition(text: str | None) -> ColumnElement[bool] | None:
    """Full-text prefix match of the search text (no condition for None; nothing matches a
    search of only punctuation)."""
    if text is None:
        return None
    terms = search_terms(text)
    if not terms:
        return false()
    return Product.search_vector.op("@@")(prefix_query(terms))
