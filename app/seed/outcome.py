"""What a seed returns (`SeedSummary`), or raises when it refuses to run (`SeedError`)."""

from __future__ import annotations

from dataclasses import dataclass

from app.seed.parameters import seeded_email


class SeedError(Exception):
    """The seed was refused; the message says why and is meant for the command line."""


class CatalogNotEmptyError(SeedError):
    pass


@dataclass(frozen=True)
class SeedSummary:
    categories: int
    products: int
    users: int
    reviews: int
    approved_reviews: int
    rated_products: int
    seed: int
    password: str
    elapsed_seconds: float

    def __str__(self) -> str:
        return (
            f"{self.categories} categories, {self.products} products, {self.users} users "
            f"(password {self.password!r}), {self.reviews} reviews "
            f"in {self.elapsed_seconds:.1f} s"
        )

    def report(self) -> str:
        """The multi-line summary `catalog seed` prints."""
        first = seeded_email(1) if self.users else "-"
        return (
            f"Seeded the catalog (seed {self.seed}) in {self.elapsed_seconds:.1f} s:\n"
            f"  categories  {self.categories}\n"
            f"  products    {self.products} ({self.rated_products} with approved reviews)\n"
            f"  users       {self.users} customers, e.g. {first} / password {self.password}\n"
            f"  reviews     {self.reviews} ({self.approved_reviews} approved)"
        )
