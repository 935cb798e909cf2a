"""Who is asking: the signed-in user and their session, nobody, or a token that failed.

A bad token is not the same as no token: every field that needs to know who is asking raises
UNAUTHENTICATED for it (refresh or sign in again), so a stale token is never silently treated
as anonymous, while fields that do not care still answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from db.users import User
from resolvers.errors import Unauthenticated


@dataclass(frozen=True)
class Viewer:
    signed_in: User | None = field(default=None, repr=False)
    session_id: uuid.UUID | None = None
    # Why the request's token was refused (safe to show), when it was.
    auth_error: str | None = None

    @property
    def user(self) -> User | None:
        """The caller; raises UNAUTHENTICATED if the request carried a bad token."""
        if self.auth_error is not None:
            raise Unauthenticated(self.auth_error)
        return self.signed_in

    @property
    def is_staff(self) -> bool:
        """Whether the caller is signed in as staff (False for a bad token: never raises)."""
        return (
            self.auth_error is None and self.signed_in is not None and self.signed_in.role.is_staff
        )


ANONYMOUS = Viewer()
