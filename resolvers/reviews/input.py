"""Review input: the limits of a review's fields, their cleaning, and the errors they give.

Pure checks, no database: `resolvers.reviews.writes` and `resolvers.reviews.moderation` call
them before they write anything.
"""

from __future__ import annotations

from db.text import clean_line, clean_multiline
from resolvers.errors import ErrorCode, UserError, invalid_input, user_error

MIN_RATING = 1
MAX_RATING = 5
MAX_TITLE_LENGTH = 120
MAX_BODY_LENGTH = 5000
MAX_REASON_LENGTH = 500


def clean_title(raw: str) -> str | None:
    return clean_line(raw, MAX_TITLE_LENGTH)


def clean_body(raw: str) -> str | None:
    return clean_multiline(raw, MAX_BODY_LENGTH)


def clean_reason(raw: str) -> str | None:
    return clean_multiline(raw, MAX_REASON_LENGTH)


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
    return invalid_input(f"Title must be 1 to {MAX_TITLE_LENGTH} printable characters.", "title")


def invalid_body() -> UserError:
    return invalid_input(
        f"Review text must be at most {MAX_BODY_LENGTH} characters, without control characters.",
        "body",
    )


def invalid_reason() -> UserError:
    return invalid_input(
        f"Reason must be at most {MAX_REASON_LENGTH} characters, without control characters.",
        "reason",
    )
