"""The moderation heuristic: whether a new or edited review must wait for a moderator.

New and edited reviews go live (APPROVED) unless `moderation_hold` finds a link, shouting or a
banned word: those wait as PENDING, seen only by their author and staff, until a moderator
decides (`resolvers.reviews.moderation`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

SHOUTING_MIN_LETTERS = 12
SHOUTING_UPPER_SHARE = 0.7

# Top-level domains common in spam. English words that follow a missing space after a full
# stop ("fits.In", "it.Is") are left out so that typos are not taken for links.
_TLDS = (
    "com|net|org|info|biz|io|co|ly|app|dev|xyz|shop|store|online|site|top|club|"
    "uk|de|fr|nl|ru|cn|au|eu|ca|br|pl|es|jp|tk|gg|tv|cc|ws"
)
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_LINK = re.compile(
    rf"https?://|\bwww\.|\b{_LABEL}(?:\.{_LABEL})*\.(?:{_TLDS})\b",
    re.IGNORECASE,
)


def contains_link(text: str) -> bool:
    """http://, https://, www. or a bare domain such as example.com."""
    return _LINK.search(text) is not None


def is_shouting(text: str) -> bool:
    """At least 12 cased letters, at least 70% of them upper-case."""
    cased = [char for char in text if char.isupper() or char.islower()]
    if len(cased) < SHOUTING_MIN_LETTERS:
        return False
    upper = sum(1 for char in cased if char.isupper())
    return upper >= SHOUTING_UPPER_SHARE * len(cased)


@lru_cache(maxsize=8)
def _banned_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({word.strip() for word in words if word.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(word) for word in cleaned)
    # Whole words: no word character may touch the match on either side.
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def contains_banned_word(text: str, banned_words: Iterable[str]) -> bool:
    pattern = _banned_pattern(tuple(banned_words))
    return pattern is not None and pattern.search(text) is not None


def moderation_hold(title: str, body: str, banned_words: Sequence[str]) -> str | None:
    """Why a review must wait for a moderator, or None when it may go live at once."""
    texts = (title, body, f"{title} {body}")
    reasons = []
    if any(contains_link(text) for text in texts[:2]):
        reasons.append("contains a link")
    if any(is_shouting(text) for text in texts):
        reasons.append("written mostly in capitals")
    if any(contains_banned_word(text, banned_words) for text in texts[:2]):
        reasons.append("contains a blocked word")
    if not reasons:
        return None
    return "Held for moderation: " + "; ".join(reasons) + "."
