"""Slugs: URL-friendly names ("Café Crème 2" → "cafe-creme-2"), unique per table.

A slug a client asks for is checked (`is_slug`); one generated from a name is made unique by
numbering (`free_slug`, `slug_candidates`). The unique constraint still decides, so a
concurrent writer that takes the same slug first is noticed at insert time
(`db.constraints.insert_unique`). The rules live in `db/` so the catalog mutations and the
product import (`workers.imports`) number slugs the same way; like every query helper,
`free_slug` never commits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Letters NFKD does not decompose into ASCII, spelled out for slugs.
_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "đ": "d",
     "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH"}
)  # fmt: skip


def is_slug(value: str, max_length: int) -> bool:
    return len(value) <= max_length and SLUG_PATTERN.fullmatch(value) is not None


def ascii_fold(text: str) -> str:
    """ASCII only: accents dropped ("é" → "e"), a few letters spelled out ("ß" → "ss"), and
    anything else a separator, so "½" is "1 2" rather than "12"."""
    if text.isascii():
        return text  # nothing to fold (NFKD leaves ASCII as it is)
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(
        char if char.isascii() else "" if unicodedata.combining(char) else " "
        for char in decomposed
    )


def slugify(name: str, max_length: int, fallback: str) -> str:
    """Lower-case ASCII words joined by '-': "Café Crème 2" → "cafe-creme-2"."""
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_fold(name).lower()).strip("-")
    slug = slug[:max_length].rstrip("-")
    return slug or fallback


def slug_candidates(base: str, max_length: int, numbers: Iterable[int]) -> list[str]:
    """`base` for 1, else `base-2`, `base-3`, ... each cut to fit `max_length`."""
    candidates = []
    for number in numbers:
        if number == 1:
            candidates.append(base[:max_length])
            continue
        suffix = f"-{number}"
        candidates.append(base[: max_length - len(suffix)].rstrip("-") + suffix)
    return candidates


async def free_slug(
    session: AsyncSession,
    column: InstrumentedAttribute[str],
    base: str,
    max_length: int,
    *,
    batch: int = 100,
) -> str:
    """The first of `base`, `base-2`, `base-3`, ... that no row of `column` holds yet."""
    start = 1
    while True:
        candidates = slug_candidates(base, max_length, range(start, start + batch))
        taken = set((await session.execute(select(column).where(column.in_(candidates)))).scalars())
        for candidate in candidates:
            if candidate not in taken:
                return candidate
        start += batch
