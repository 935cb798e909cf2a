"""Slug errors for mutation payloads; the slug rules themselves are `db.slugs`."""

from __future__ import annotations

from resolvers.errors import ErrorCode, UserError, invalid_input, user_error


def slug_taken(field_name: str = "slug") -> UserError:
    return user_error(ErrorCode.SLUG_TAKEN, "This slug is already in use.", field_name)


def invalid_slug(max_length: int, field_name: str = "slug") -> UserError:
    return invalid_input(
        "Slug must be lower-case letters and digits in words joined by '-', at most "
        f"{max_length} characters.",
        field_name,
    )
