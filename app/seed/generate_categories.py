"""The category tree: departments as roots, then subcategories, then leaves.

Its shape follows the requested size (about 4-5 children per inner node); a tree larger than
the word lists repeats their names with qualifiers ("Premium Laptops"). Slugs are unique.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

from app.seed.parameters import ts
from app.seed.vocabulary_catalog import QUALIFIERS, Department
from app.seed.vocabulary_departments import DEPARTMENTS


@dataclass
class Category:
    id: int
    parent_id: int | None
    path: list[int]
    name: str
    slug: str
    description: str
    created: int  # unix seconds
    department: Department
    nouns: tuple[str, ...]  # what products filed here are called
    price_factor: float  # some leaves are pricier than their department's median
    is_leaf: bool

    def row(self) -> tuple[Any, ...]:
        at = ts(self.created)
        return (self.id, self.parent_id, self.path, self.name, self.slug, self.description, at, at)


def slugify(text: str) -> str:
    """Lowercase words joined by hyphens: "Men's Keyboards & Mice" -> "mens-keyboards-and-mice"."""
    text = text.lower().replace("&", " and ").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _plural(noun: str) -> str:
    if noun.endswith("s"):  # "Headphones", "Bath Salts": already plural
        return noun
    if noun.endswith(("x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith("fe"):
        return noun[:-2] + "ves"
    return noun + "s"


def _spread(total: int, capacities: Sequence[int]) -> list[int]:
    """Split `total` over buckets: at least one each, then always to the one with most room.

    Room past a bucket's capacity is fine (names get qualifiers), it is just used last.
    """
    counts = [1] * len(capacities)
    heap = [(-(capacity - 1), index) for index, capacity in enumerate(capacities)]
    heapq.heapify(heap)
    for _ in range(total - len(capacities)):
        room, index = heapq.heappop(heap)
        counts[index] += 1
        heapq.heappush(heap, (room + 1, index))
    return counts


def _variant(names: Sequence[str], index: int) -> tuple[int, str]:
    """The index-th name of a list that repeats with qualifiers: Laptops, ..., Premium Laptops."""
    base = index % len(names)
    lap = index // len(names)
    if lap == 0:
        return base, names[base]
    return base, f"{QUALIFIERS[(lap - 1) % len(QUALIFIERS)]} {names[base]}"


def _tree_shape(total: int) -> tuple[int, int, int]:
    """How many roots, subcategories and leaves: about 4-5 children per inner node."""
    roots = max(1, min(round(total**0.4), total // 3))
    rest = total - roots
    middle = min(max(round(rest / 5), roots), rest // 2)
    return roots, middle, rest - middle


def build_categories(rng: Random, total: int, start: int) -> list[Category]:
    roots, middle, leaves = _tree_shape(total)
    slugs: set[str] = set()

    def unique_slug(name: str, parent: Category | None) -> str:
        slug = slugify(name)
        if slug in slugs and parent is not None:
            slug = f"{parent.slug}-{slug}"
        candidate, number = slug, 1
        while candidate in slugs:
            number += 1
            candidate = f"{slug}-{number}"
        slugs.add(candidate)
        return candidate

    categories: list[Category] = []
    root_specs: list[tuple[Category, list[tuple[str, dict[str, str]]]]] = []
    departments = [department.name for department in DEPARTMENTS]
    for index in range(roots):
        base, name = _variant(departments, index)
        department = DEPARTMENTS[base]
        category = Category(
            id=len(categories) + 1,
            parent_id=None,
            path=[],
            name=name,
            slug=unique_slug(name, None),
            description="",
            created=start + rng.randrange(0, 3 * 86400),
            department=department,
            nouns=(),
            price_factor=1.0,
            is_leaf=False,
        )
        categories.append(category)
        root_specs.append((category, list(department.children.items())))

    middle_specs: list[tuple[Category, list[tuple[str, str]]]] = []
    counts = _spread(middle, [len(children) for _, children in root_specs])
    for (root, children), count in zip(root_specs, counts, strict=True):
        child_names = [name for name, _ in children]
        for index in range(count):
            base, name = _variant(child_names, index)
            category = Category(
                id=len(categories) + 1,
                parent_id=root.id,
                path=[root.id],
                name=name,
                slug=unique_slug(name, root),
                description="",
                created=root.created + rng.randrange(3600, 4 * 86400),
                department=root.department,
                nouns=(),
                price_factor=1.0,
                is_leaf=False,
            )
            categories.append(category)
            middle_specs.append((category, list(children[base][1].items())))

    counts = _spread(leaves, [len(leaf_specs) for _, leaf_specs in middle_specs])
    for (parent, leaf_specs), count in zip(middle_specs, counts, strict=True):
        leaf_names = [name for name, _ in leaf_specs]
        nouns: list[str] = []
        for index in range(count):
            base, name = _variant(leaf_names, index)
            leaf_nouns = tuple(leaf_specs[base][1].split("|"))
            nouns.extend(noun for noun in leaf_nouns if noun not in nouns)
            department = parent.department
            adjectives = rng.sample(department.adjectives, 2)
            description = (
                f"{name} for every budget, from {adjectives[0].lower()} everyday picks to "
                f"{adjectives[1].lower()} {_plural(leaf_nouns[-1]).lower()}. "
                + rng.choice(
                    (
                        "Compare prices, specs and reviews side by side.",
                        "Free delivery on orders over $50 and returns within 30 days.",
                        f"Hand-picked by our {department.name.lower()} team.",
                        "New arrivals every week.",
                    )
                )
            )
            categories.append(
                Category(
                    id=len(categories) + 1,
                    parent_id=parent.id,
                    path=[*parent.path, parent.id],
                    name=name,
                    slug=unique_slug(name, parent),
                    description=description,
                    created=parent.created + rng.randrange(3600, 4 * 86400),
                    department=department,
                    nouns=leaf_nouns,
                    price_factor=rng.lognormvariate(0.0, 0.7),
                    is_leaf=True,
                )
            )
        # A subcategory sells what its leaves sell (for the few products filed directly there).
        parent.nouns = tuple(nouns)
        parent.price_factor = rng.lognormvariate(0.0, 0.3)

    by_parent: dict[int, list[str]] = {}
    for category in categories:
        if category.parent_id is not None:
            by_parent.setdefault(category.parent_id, []).append(category.name)
    for category in categories:
        if category.is_leaf:
            continue
        below = by_parent.get(category.id, [])
        listed = ", ".join(below[:3]).lower()
        more = " and more" if len(below) > 3 else ""
        if category.parent_id is None:
            category.description = f"{category.department.blurb} Explore {listed}{more}."
        else:
            category.description = (
                f"Everything in {category.name.lower()}: {listed}{more}. "
                f"Part of our {categories[category.parent_id - 1].name} department."
            )
    return categories
