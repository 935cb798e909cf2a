"""Catalog vocabulary: what a department is, and the word lists all departments share.

The departments themselves, with their category trees, are in `vocabulary_departments`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    """A root category and the vocabulary its products are described with."""

    name: str
    blurb: str
    median_price: float
    weight_kg: float
    adjectives: tuple[str, ...]
    materials: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]
    # subcategory -> leaf category -> "|"-separated product nouns sold there
    children: dict[str, dict[str, str]]


# The word lists are laid out by hand, several entries a line; the formatter would give each
# its own line and turn a screenful into ten.
# fmt: off
# Prefixes that make a second "Laptops" distinct when a large tree reuses the word lists.
QUALIFIERS = ("Premium", "Budget", "Refurbished", "Professional", "Eco-Friendly", "Travel")
MODEL_SUFFIXES = ("Pro", "Plus", "Mini", "Max", "Lite", "II", "X", "Duo")
COLORS = (
    "black", "white", "silver", "grey", "navy", "red", "green", "blue", "beige", "walnut",
    "charcoal", "olive", "sand", "rose gold",
)
BRANDS = (
    "Northwind", "Acme", "Lumen", "Veridian", "Kestrel", "Orbit", "Harbor & Pine", "Summit",
    "Brightline", "Fernwood", "Polaris", "Tidewater", "Copperleaf", "Ironbark", "Nimbus",
    "Bluebell", "Granite Co.", "Maple & Ash", "Quill", "Solstice",
)
IMAGE_VIEWS = ("front view", "side view", "in use", "detail", "packaging")
# fmt: on
