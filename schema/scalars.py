"""Custom scalars' wire format, said in the SDL so clients' code generators can map them.

GraphQL Code Generator users map `Decimal` to `string` and `DateTime` to `string` (or a date
library) from these descriptions. Only the descriptions and `@specifiedBy` change here: values
are serialized and parsed exactly as Strawberry's own scalars do.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal

from strawberry.schema.types.base_scalars import DateTimeDefinition, DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

DATE_TIME_SPEC = "https://scalars.graphql.org/andimarek/date-time.html"

Decimal = dataclasses.replace(
    DecimalDefinition,
    description=(
        'An exact decimal number, sent as a string such as "49.99" (never a float, so nothing '
        'is rounded). Inputs accept such a string, e.g. priceMax: "100".'
    ),
)

DateTime = dataclasses.replace(
    DateTimeDefinition,
    description=(
        "An instant: an RFC 3339 / ISO 8601 date and time with its UTC offset, such as "
        '"2026-12-02T14:05:09.123456+00:00".'
    ),
    specified_by_url=DATE_TIME_SPEC,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    decimal.Decimal: Decimal,
    datetime.datetime: DateTime,
}
