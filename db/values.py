"""Small read-only values derived from rows: money and rating summaries.

They are properties of the models so GraphQL fields can read them as plain attributes: a field
with a resolver costs the executor several times more than an attribute, and a product listing
reads these for every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


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
