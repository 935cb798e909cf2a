"""Small read-only values derived from rows: global ids, money, rating summaries.

They are properties of the models so GraphQL fields can read them as plain attributes: a field
with a resolver costs the executor several times more than an attribute, and a product listing
reads these for every row.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar


def encode_global_id(type_name: str, key: object) -> str:
    """The opaque Relay id of an object: base64 of "Type:key"."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


class GlobalId:
    """Mixin for models exposed as a GraphQL Node: `global_id` from the type name and key."""

    node_type: ClassVar[str]
    id: int

    @property
    def global_id(self) -> str:
        return encode_global_id(self.node_type, self.id)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class StarCount:
    stars: int
    count: int


@dataclass(frozen=True, slots=True)
class RatingSummary:
    average: float
    count: int
    buckets: tuple[int, ...]

    @property
    def histogram(self) -> list[StarCount]:
        return [StarCount(stars, count) for stars, count in enumerate(self.buckets, start=1)]
