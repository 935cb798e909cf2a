"""Errors a client can act on.

Two kinds: `UserError` entries inside mutation payloads (a form can show them next to a field),
and top-level GraphQL errors carrying `extensions.code` (UNAUTHENTICATED, FORBIDDEN,
BAD_USER_INPUT, ...). Anything else a resolver raises is masked as INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import enum

import strawberry
from graphql import GraphQLError


@strawberry.enum(description="Why a mutation refused its input.")
class ErrorCode(enum.Enum):
    INVALID_INPUT = "INVALID_INPUT"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_EMAIL = "INVALID_EMAIL"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"
    INVALID_TOKEN = "INVALID_TOKEN"
    NOT_FOUND = "NOT_FOUND"
    CANNOT_MODIFY_SELF = "CANNOT_MODIFY_SELF"
    ALREADY_REVIEWED = "ALREADY_REVIEWED"
    INVALID_RATING = "INVALID_RATING"
    SLUG_TAKEN = "SLUG_TAKEN"
    SKU_TAKEN = "SKU_TAKEN"
    CATEGORY_NOT_EMPTY = "CATEGORY_NOT_EMPTY"
    CYCLE = "CYCLE"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    INVALID_URL = "INVALID_URL"
    PRODUCT_ORDERED = "PRODUCT_ORDERED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


@strawberry.type(description="A problem with a mutation's input, to show beside the field.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: ErrorCode
    message: str


def user_error(code: ErrorCode, message: str, field: str | None = None) -> UserError:
    return UserError(field=field, code=code, message=message)


def not_found(what: str, field: str = "id") -> UserError:
    """The input named a `what` that does not exist (or that the caller may not see)."""
    return user_error(ErrorCode.NOT_FOUND, f"No such {what}.", field)


class ApiError(GraphQLError):
    """A top-level error whose message and code are safe to show to any client."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"
