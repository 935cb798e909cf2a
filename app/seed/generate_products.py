"""Products: filed mostly under leaf categories, with log-normal prices and generated text.

Names and descriptions come from their department's word lists, so searches such as "laptop"
or "wireless" find sensible things. Ids grow with `created_at`, as they would in production.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random
from typing import Any

from app.seed.generate_categories import Category, slugify
from app.seed.parameters import (
    MAX_PRICE_CENTS,
    MID_LEVEL_PRODUCT_SHARE,
    MIN_PRICE_CENTS,
    OUT_OF_STOCK_SHARE,
    PRODUCT_STATUS_WEIGHTS,
    PRODUCT_STATUSES,
    ts,
)
from app.seed.vocabulary_catalog import BRANDS, COLORS, IMAGE_VIEWS, MODEL_SUFFIXES, Department


@dataclass
class Products:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _product_name(rng: Random, department: Department, noun: str) -> tuple[str, str, str]:
    """(name, adjective, material), e.g. ("Ergonomic Aluminium Laptop Stand", ...)."""
    adjective = rng.choice(department.adjectives) if rng.random() < 0.85 else ""
    material = rng.choice(department.materials) if rng.random() < 0.6 else ""
    suffix = rng.choice(MODEL_SUFFIXES) if rng.random() < 0.2 else ""
    # "Portable Portable Monitor" reads as a bug: drop a modifier the noun already carries.
    if adjective and adjective.lower() in noun.lower():
        adjective = ""
    if material and material.lower() in noun.lower():
        material = ""
    name = " ".join(part for part in (adjective, material, noun, suffix) if part)
    return name, adjective, material


def _price_cents(rng: Random, median: float) -> int:
    price = median * rng.lognormvariate(0.0, 0.55)
    whole = max(2, round(price))
    # Shop prices end in .99 mostly, sometimes .49 or .00.
    ending = rng.choices((1, 51, 0), weights=(70, 15, 15))[0]
    return min(max(whole * 100 - ending, MIN_PRICE_CENTS), MAX_PRICE_CENTS)


def _description(
    rng: Random,
    category: Category,
    name: str,
    noun: str,
    adjective: str,
    material: str,
    brand: str,
    color: str,
    weight: float,
) -> str:
    department = category.department
    use = rng.choice(department.uses)
    kind = f"{adjective.lower()} {noun.lower()}" if adjective else noun.lower()
    # "Joggers" and "Earbuds" are plural: "are joggers", not "is a joggers".
    plural = noun.endswith("s") and not noun.endswith(("ss", "Lens"))
    a_kind = kind if plural else f"{_article(kind)} {kind}"
    intro = rng.choice(
        (
            f"The {name} {'are' if plural else 'is'} {a_kind} built for {use}.",
            f"Meet the {name}: {a_kind} designed for {use}.",
            f"{'These' if plural else 'This'} {noun.lower()} from {brand} "
            f"{'are' if plural else 'is'} made for {use}.",
        )
    )
    first, second = rng.sample(department.features, 2)
    extras = [
        f"Highlights include {first} and {second}.",
        f"Available in {color}; it weighs {weight:g} kg.",
        f"Backed by {brand}'s {rng.randint(1, 3)}-year warranty and free 30-day returns.",
        f"A customer favourite in our {category.name.lower()} range.",
    ]
    if material:
        extras.append(f"Made from {material.lower()} to last for years.")
    sentences = [intro, *rng.sample(extras, rng.randint(1, 3))]
    return " ".join(sentences)


def build_products(
    rng: Random, categories: list[Category], total: int, start: int, end: int
) -> Products:
    leaves = [category for category in categories if category.is_leaf]
    middles = [c for c in categories if not c.is_leaf and c.parent_id is not None]
    # Some categories are far bigger than others, as in any real shop.
    leaf_weights = list(itertools.accumulate(rng.lognormvariate(0.0, 0.7) for _ in leaves))
    products = Products()
    # Sorted creation times, so ids grow with created_at as they would in production.
    created = sorted(rng.randrange(start, end) for _ in range(total))
    for index, created_at in enumerate(created):
        product_id = index + 1
        if middles and rng.random() < MID_LEVEL_PRODUCT_SHARE:
            category = rng.choice(middles)
        else:
            category = rng.choices(leaves, cum_weights=leaf_weights)[0]
        department = category.department
        noun = rng.choice(category.nouns)
        name, adjective, material = _product_name(rng, department, noun)
        brand = rng.choice(BRANDS)
        color = rng.choice(COLORS)
        weight = max(0.05, round(department.weight_kg * rng.lognormvariate(0.0, 0.5), 2))
        price = Decimal(_price_cents(rng, department.median_price * category.price_factor)).scaleb(
            -2
        )
        stock = 0 if rng.random() < OUT_OF_STOCK_SHARE else round(rng.triangular(1, 500, 40))
        status = rng.choices(PRODUCT_STATUSES, weights=PRODUCT_STATUS_WEIGHTS)[0]
        attributes: dict[str, Any] = {"brand": brand, "color": color, "weight_kg": weight}
        if material:
            attributes["material"] = material.lower()
        images = [
            {
                "url": f"https://img.example.com/p/{product_id}-{number}.jpg",
                "alt": f"{name}, {view}",
            }
            for number, view in enumerate(IMAGE_VIEWS[: rng.randint(1, 4)], start=1)
        ]
        letters = re.sub(r"[^A-Za-z]", "", noun).upper()
        products.rows.append(
            (
                product_id,
                f"{letters[:3]:X<3}-{product_id:06d}",
                name,
                f"{slugify(name)}-{product_id}",
                _description(rng, category, name, noun, adjective, material, brand, color, weight),
                price,
                "USD",
                stock,
                status,
                category.id,
                json.dumps(attributes),
                json.dumps(images),
                0,
                0,
                Decimal(0),
                [0, 0, 0, 0, 0],
                ts(created_at),
                ts(created_at),
            )
        )
        products.created.append(created_at)
        products.nouns.append(noun)
        products.statuses.append(status)
    return products
