"""What mutations return: the object written (or the outcome) and the input problems found.

The payload types of `schema/` read these; a refused input has `errors` and nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from db.users import User
from resolvers.errors import UserError

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """The object a mutation created or changed; None when it refused the input."""

    value: T | None = None
    errors: list[UserError] = field(default_factory=list)

    @classmethod
    def refused(cls, *errors: UserError) -> Outcome[T]:
        return cls(None, list(errors))


@dataclass
class Deleted:
    """The key of the row a delete removed; None when it refused."""

    deleted_id: int | None = None
    errors: list[UserError] = field(default_factory=list)

    @classmethod
    def refused(cls, *errors: UserError) -> Deleted:
        return cls(None, list(errors))


@dataclass
class Status:
    """Whether a mutation that returns no object did what it was asked."""

    ok: bool = True
    errors: list[UserError] = field(default_factory=list)

    @classmethod
    def refused(cls, *errors: UserError) -> Status:
        return cls(False, list(errors))


@dataclass
class SignedIn:
    """A new session's tokens (register, login, refresh); None when refused."""

    user: User | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = field(default_factory=list)

    @classmethod
    def refused(cls, *errors: UserError) -> SignedIn:
        return cls(errors=list(errors))
