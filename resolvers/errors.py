"""Errors a client can act on, as plain values the resolvers return or raise.

Two kinds: `UserError` entries inside mutation payloads (a form can show them next to a field),
and top-level GraphQL errors carrying `extensions.code` (`ApiError` and its subclasses:
UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT). Anything else a resolver raises is masked as
INTERNAL_SERVER_ERROR by the schema's error policy. `schema.errors` gives these their GraphQL
types; nothing here depends on Strawberry.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from graphql import GraphQLError


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
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    QUANTITY_INVALID = "QUANTITY_INVALID"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    CART_EMPTY = "CART_EMPTY"
    CART_FULL = "CART_FULL"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ORDER_STATUS_CHANGED = "ORDER_STATUS_CHANGED"
    CART_CHANGED = "CART_CHANGED"
    JOB_FINISHED = "JOB_FINISHED"
    JOB_NOT_RETRYABLE = "JOB_NOT_RETRYABLE"


@dataclass(frozen=True, slots=True)
class UserError:
    """A problem with one mutation input: `field` is the input field at fault, if one is."""

    code: ErrorCode
    message: str
    field: str | None = None


def user_error(code: ErrorCode, message: str, field: str | None = None) -> UserError:
    return UserError(code, message, field)


def invalid_input(message: str, field: str | None = None) -> UserError:
    return UserError(ErrorCode.INVALID_INPUT, message, field)


def not_found(what: str, field: str = "id") -> UserError:
    """The input named a `what` that does not exist (or that the caller may not see)."""
    return UserError(ErrorCode.NOT_FOUND, f"No such {what}.", field)


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


class RateLimited(ApiError):
    """Over the caller's budget: retry after `retry_after` seconds (also HTTP 429)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))
        self.extensions = {**(self.extensions or {}), "retryAfter": self.retry_after}


class CostLimitExceeded(ApiError):
    """The operation would cost more than the server runs at once (refused before it runs)."""

    code = "COST_LIMIT_EXCEEDED"


class DeadlineExceeded(ApiError):
    """The operation ran past the execution deadline and was stopped."""

    code = "DEADLINE_EXCEEDED"


class ResponseTooLarge(ApiError):
    """The operation's response would be larger than the server sends."""

    code = "RESPONSE_TOO_LARGE"
