"""Permission classes: each reads the user the context getter resolved from the request.

Anonymous callers get UNAUTHENTICATED (log in and retry); signed-in callers without the role
get FORBIDDEN. Reading `info.context.user` itself raises UNAUTHENTICATED when the request
carried a bad token, so a stale token is never silently treated as anonymous.
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from db.users import Role, User
from resolvers.context import Info
from resolvers.errors import Forbidden, Unauthenticated


def require_user(info: Info) -> User:
    user = info.context.user
    if user is None:
        raise Unauthenticated("You must be signed in to do this.")
    return user


def require_role(info: Info, *roles: Role) -> User:
    user = require_user(info)
    if user.role not in roles:
        raise Forbidden("You do not have permission to do this.")
    return user


class IsAuthenticated(BasePermission):
    message = "You must be signed in to do this."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return require_user(info) is not None


class IsStaff(BasePermission):
    message = "Staff only."
    error_extensions = {"code": "FORBIDDEN"}
    # The roles let through, as data: compiled queries read it (resolvers.compiler.permissions).
    roles: ClassVar[frozenset[Role]] = frozenset({Role.STAFF, Role.ADMIN})

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return require_role(info, *self.roles) is not None


class IsAdmin(BasePermission):
    message = "Administrators only."
    error_extensions = {"code": "FORBIDDEN"}
    roles: ClassVar[frozenset[Role]] = frozenset({Role.ADMIN})

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return require_role(info, *self.roles) is not None


class IsSelfOrStaff(BasePermission):
    """For fields of a User: the user themself, or staff."""

    message = "Only this user and staff can see this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if isinstance(source, User) and source.id == info.context.signed_in_user_id:
            return True
        viewer = require_user(info)
        return viewer.role.is_staff or (isinstance(source, User) and source.id == viewer.id)
