"""Review input: the limits of a review's fields, their cleaning, and the errors they give.

Pure checks, no database: `resolvers.reviews` and `resolvers.review_moderation` call them before
they write anything.
"""

from __future__ import annotations

import unicodedata

from schema.errors import ErrorCode, UserError, user_error

MIN_RATING = 1
MAX_RATING = 5
MAX_TITLE_LENGTH = 120
MAX_BODY_LENGTH = 5000
MAX_REASON_LENGTH = 500


# Line breaks and tabs are welcome in a body; other control and unassigned characters are not.
_BODY_WHITESPACE = frozenset("\n\t")


def _has_bad_characters(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(
        char not in allowed
        and (
            unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"}
            # Bidirectional overrides and isolates can disguise what a text says.
            or "\u202a" <= char <= "\u202e"
            or "\u2066" <= char <= "\u2069"
        )
        for char in text
    )


def clean_title(raw: str) -> str | None:
    title = raw.strip()
    if not title or len(title) > MAX_TITLE_LENGTH or _has_bad_characters(title):
        return None
    return title


def clean_multiline(raw: str, max_length: int) -> str | None:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > max_length or _has_bad_characters(text, _BODY_WHITESPACE):
        return None
    return text


def clean_body(raw: str) -> str | None:
    return clean_multiline(raw, MAX_BODY_LENGTH)


def rating_errors(rating: int) -> list[UserError]:
    if MIN_RATING <= rating <= MAX_RATING:
        return []
    return [
        user_error(
            ErrorCode.INVALID_RATING,
            f"Rating must be a whole number of stars from {MIN_RATING} to {MAX_RATING}.",
            "rating",
        )
    ]


def invalid_title() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT,
        f"Title must be 1 to {MAX_TITLE_LENGTH} printable characters.",
        "title",
    )


def invalid_body() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT,
        f"Review text must be at most {MAX_BODY_LENGTH} characters, without control characters.",
        "body",
    )
