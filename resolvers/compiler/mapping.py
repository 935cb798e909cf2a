"""What the compiler knows: GraphQL types as tables, fields as SQL, declared once here.

Each `TypeMap` says which rows a GraphQL object type reads (the `resolvers.rows.Rows` its
by-id loader reads: table and visibility) and how each field it supports is written in SQL over
a row alias (`{t}`). Anything not declared here is not compiled: the operation goes to the
executor, which stays the definition of what every field means (the differential suite,
tests/api/test_compiled_equivalence.py, holds the two equal). Relations are entries of
`resolvers.relations.RELATIONS`, the map the prefetcher reads: their joins (columns, visible
rows, order) are the ones the executor's loaders are built from, so a relation the executor
does not have cannot be compiled, nor one joined differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from db.users import Role as UserRole
from resolvers import rows
from resolvers.relations import (
    CATEGORY_CHILDREN,
    CATEGORY_PARENT,
    CATEGORY_PRODUCTS,
    PRODUCT_CATEGORY,
    PRODUCT_REVIEWS,
    REVIEW_AUTHOR,
    REVIEW_PRODUCT,
    Relation,
)
from resolvers.rows import Count, Rows


class Role(Enum):
    """The classes of viewer a plan is compiled for (visibility differs between them)."""

    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"

    @property
    def members(self) -> frozenset[UserRole]:
        """The users' roles in this class (as `resolvers.compiler.role_of` sorts viewers:
        signed in or not, staff or not)."""
        if self is Role.ANONYMOUS:
            return frozenset()
        return frozenset(r for r in UserRole if r.is_staff == (self is Role.STAFF))


def global_id(type_name: str) -> str:
    """`db.global_ids.encode_global_id` in SQL: urlsafe base64 of "Type:key", padded."""
    return (
        f"translate(encode(convert_to('{type_name}:' || {{t}}.id, 'UTF8'), 'base64'),"
        " E'+/\\n', '-_')"
    )


def iso_datetime(column: str) -> str:
    """`datetime.isoformat()` of a timestamptz, as the executor writes DateTime values
    (asyncpg hands out UTC datetimes: `+00:00`, microseconds only when not zero)."""
    value = f"{{t}}.{column}"
    return (
        f"(to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_part('microseconds', {value})::bigint % 1000000 = 0 THEN ''"
        f" ELSE to_char({value} AT TIME ZONE 'UTC', '.US') END || '+00:00')"
    )


def python_float(expression: str) -> str:
    """A numeric as the JSON text of Python's float repr (4.5, 4.0, 0.0), as a `json` value.
    Exact for numeric(3,2): its shortest float repr is its decimal text without trailing 0s."""
    trimmed = f"rtrim(rtrim(({expression})::text, '0'), '.')"
    return f"(CASE WHEN {trimmed} LIKE '%.%' THEN {trimmed} ELSE {trimmed} || '.0' END)::json"


@dataclass(frozen=True)
class Nested:
    """A field whose value is an object built from the same row (Money, Rating)."""

    type_name: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ListField:
    """A list field read from the row: `source` is a FROM clause over `{t}` naming its
    element alias `{e}`, in `order`. Elements are rows of `element` (a type in TYPES) or
    values whose fields `element_fields` declares."""

    element: str
    source: str
    order: str
    element_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TypeMap:
    name: str
    # The rows of the type as `node(id)` and its by-id loader read them (table, visibility).
    rows: Rows[Any]
    # Scalar fields: SQL over the row alias `{t}`.
    scalars: dict[str, str] = field(default_factory=dict)
    # Object-valued fields computed from the row itself.
    nested: dict[str, Nested] = field(default_factory=dict)
    lists: dict[str, ListField] = field(default_factory=dict)
    # Relations compiled as lookups (to-one) or pages (connections), by field name.
    relations: dict[str, Relation] = field(default_factory=dict)
    # Counts of related rows: the statement the field's loader counts with (`rows.Count`).
    counts: dict[str, Count] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.rows.table


PRODUCT = TypeMap(
    "Product",
    rows.PRODUCTS,
    scalars={
        "id": global_id("Product"),
        "sku": "{t}.sku",
        "name": "{t}.name",
        "slug": "{t}.slug",
        "description": "{t}.description",
        "inStock": "({t}.stock > 0)",
        # Staff only (`IsStaff`): compiled for the staff role class (see `permissions`).
        "stock": "{t}.stock",
        # Enum fields: the stored value, written as its GraphQL name (`build.enum_name`).
        "status": "{t}.status",
        "attributes": "{t}.attributes",
        "createdAt": iso_datetime("created_at"),
        "updatedAt": iso_datetime("updated_at"),
    },
    nested={
        "price": Nested("Money", {"amount": "{t}.price::text", "currency": "{t}.currency"}),
        "rating": Nested(
            "Rating",
            {"average": python_float("{t}.rating_average"), "count": "{t}.rating_count"},
        ),
    },
    lists={
        "images": ListField(
            "Image",
            "jsonb_array_elements({t}.images) WITH ORDINALITY AS {e}(value, ord)",
            "{e}.ord",
            {"url": "({e}.value ->> 'url')", "alt": "coalesce({e}.value ->> 'alt', '')"},
        ),
    },
    relations={"category": PRODUCT_CATEGORY, "reviews": PRODUCT_REVIEWS},
)

# Lists inside objects built from a row (`Nested`): the row alias is still `{t}`.
NESTED_LISTS: dict[tuple[str, str], ListField] = {
    ("Rating", "histogram"): ListField(
        "RatingBucket",
        "unnest({t}.rating_histogram) WITH ORDINALITY AS {e}(count, stars)",
        "{e}.stars",
        {"stars": "{e}.stars::int", "count": "{e}.count"},
    ),
}

CATEGORY = TypeMap(
    "Category",
    rows.CATEGORIES,
    scalars={
        "id": global_id("Category"),
        "name": "{t}.name",
        "slug": "{t}.slug",
        "description": "{t}.description",
        "createdAt": iso_datetime("created_at"),
    },
    lists={
        # `ancestors`: the categories of `path` that exist, root first.
        "ancestors": ListField(
            "Category",
            "unnest({t}.path) WITH ORDINALITY AS {e}_k(id, ord)"
            " JOIN categories AS {e} ON {e}.id = {e}_k.id",
            "{e}_k.ord",
        ),
    },
    counts={"productCount": rows.products_below},
    relations={
        "parent": CATEGORY_PARENT,
        "children": CATEGORY_CHILDREN,
        "products": CATEGORY_PRODUCTS,
    },
)

REVIEW = TypeMap(
    "Review",
    rows.REVIEWS,
    scalars={
        "id": global_id("Review"),
        "rating": "{t}.rating",
        "title": "{t}.title",
        "body": "{t}.body",
        "verifiedPurchase": "{t}.verified_purchase",
        "status": "{t}.status",
        "createdAt": iso_datetime("created_at"),
        "updatedAt": iso_datetime("updated_at"),
    },
    relations={"author": REVIEW_AUTHOR, "product": REVIEW_PRODUCT},
)

PUBLIC_PROFILE = TypeMap("PublicProfile", rows.PROFILES, scalars={"name": "{t}.name"})

TYPES: dict[str, TypeMap] = {m.name: m for m in (PRODUCT, CATEGORY, REVIEW, PUBLIC_PROFILE)}
