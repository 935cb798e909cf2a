"""Account types, inputs and operations.

Types declare only what a client may see; resolvers return `db.users` models (or the result
dataclasses of `resolvers.users.accounts`) and the fields below read from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import Parent

from db.users import AuthSession, Role, User
from resolvers.context import Info
from resolvers.pagination import Page, PageArgs
from resolvers.results import Outcome, SignedIn, Status
from resolvers.users import accounts, password_changes
from resolvers.users import admin as users_admin
from schema.errors import UserErrorType
from schema.node import Node
from schema.permissions import IsAdmin, IsAuthenticated, IsSelfOrStaff, require_role, require_user
from schema.relay import Connection, to_global_id

UserRole = strawberry.enum(Role, name="Role", description="What a user may do.")


@strawberry.type(name="User", description="An account. Email and status: the user and staff only.")
class UserType(Node):
    name: str
    role: UserRole  # type: ignore[valid-type]
    created_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, User)

    @strawberry.field(permission_classes=[IsSelfOrStaff])
    def email(self, root: Parent[User]) -> str | None:
        return root.email

    @strawberry.field(permission_classes=[IsSelfOrStaff])
    def is_active(self, root: Parent[User]) -> bool | None:
        return root.is_active

    @strawberry.field(permission_classes=[IsSelfOrStaff])
    def last_login_at(self, root: Parent[User]) -> datetime | None:
        return root.last_login_at


@strawberry.type(name="Session", description="One signed-in device or browser of the caller.")
class SessionType:
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip_address: str | None

    @strawberry.field
    def id(self, root: Parent[AuthSession]) -> strawberry.ID:
        return to_global_id("Session", root.id)

    @strawberry.field(description="Whether this is the session making the request.")
    def current(self, root: Parent[AuthSession], info: Info) -> bool:
        return root.id == info.context.viewer.session_id


@strawberry.type
class AuthPayload:
    user: UserType | None
    access_token: str | None = strawberry.field(description="A JWT for `Authorization: Bearer`.")
    refresh_token: str | None = strawberry.field(
        description="Single use: exchange it with `refreshToken` for a new pair."
    )
    errors: list[UserErrorType]


@strawberry.type
class UserPayload:
    value: UserType | None = strawberry.field(name="user")
    errors: list[UserErrorType]


@strawberry.type
class StatusPayload:
    ok: bool
    errors: list[UserErrorType]


@strawberry.input
class RegisterInput:
    email: str
    name: str
    password: str


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class UpdateMeInput:
    name: str | None = None


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class ResetPasswordInput:
    token: str = strawberry.field(description="The code from the reset email.")
    new_password: str


@strawberry.type
class UserQuery:
    @strawberry.field(graphql_type=UserType | None, description="The caller; null when anonymous.")
    def me(self, info: Info) -> User | None:
        return info.context.user

    @strawberry.field(
        graphql_type=list[SessionType],
        permission_classes=[IsAuthenticated],
        description="The caller's open sessions, most recently used first.",
    )
    async def my_sessions(self, info: Info) -> list[AuthSession]:
        return await accounts.my_sessions(info.context, require_user(info))

    @strawberry.field(
        graphql_type=Connection[UserType],
        permission_classes=[IsAdmin],
        description="Every account (administrators only), oldest first.",
    )
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of an email or name.")
        ] = None,
    ) -> Page[User]:
        return await users_admin.list_users(
            info.context, PageArgs(first, after, last, before), search
        )

    @strawberry.field(graphql_type=UserType | None, permission_classes=[IsAdmin])
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        return await users_admin.user_by_id(info.context, id)


@strawberry.type
class UserMutation:
    @strawberry.mutation(graphql_type=AuthPayload)
    async def register(self, info: Info, input: RegisterInput) -> SignedIn:
        return await accounts.register(info.context, input.email, input.name, input.password)

    @strawberry.mutation(graphql_type=AuthPayload)
    async def login(self, info: Info, input: LoginInput) -> SignedIn:
        return await accounts.login(info.context, input.email, input.password)

    @strawberry.mutation(
        graphql_type=AuthPayload,
        description="Exchange a refresh token for a new access and refresh token.",
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> SignedIn:
        return await accounts.refresh_token(info.context, refresh_token)

    @strawberry.mutation(graphql_type=StatusPayload, description="End the refresh token's session.")
    async def logout(self, info: Info, refresh_token: str) -> Status:
        return await accounts.logout(info.context, refresh_token)

    @strawberry.mutation(
        graphql_type=StatusPayload,
        permission_classes=[IsAuthenticated],
        description="End every session of the caller.",
    )
    async def logout_all(self, info: Info) -> Status:
        return await accounts.logout_all(info.context, require_user(info))

    @strawberry.mutation(graphql_type=StatusPayload, permission_classes=[IsAuthenticated])
    async def revoke_session(self, info: Info, id: strawberry.ID) -> Status:
        return await accounts.revoke_session(info.context, require_user(info), id)

    @strawberry.mutation(graphql_type=UserPayload, permission_classes=[IsAuthenticated])
    async def update_me(self, info: Info, input: UpdateMeInput) -> Outcome[User]:
        return await accounts.update_me(info.context, require_user(info), input.name)

    @strawberry.mutation(
        graphql_type=UserPayload,
        permission_classes=[IsAuthenticated],
        description="Change the caller's password; every other session ends.",
    )
    async def change_password(self, info: Info, input: ChangePasswordInput) -> Outcome[User]:
        return await password_changes.change_password(
            info.context, require_user(info), input.current_password, input.new_password
        )

    @strawberry.mutation(
        graphql_type=StatusPayload,
        description="Email a reset link. The answer is the same whether or not the account exists.",
    )
    async def request_password_reset(self, info: Info, email: str) -> Status:
        return await password_changes.request_password_reset(info.context, email)

    @strawberry.mutation(
        graphql_type=StatusPayload,
        description="Set a new password with an emailed token; every session ends.",
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> Status:
        return await password_changes.reset_password(info.context, input.token, input.new_password)

    @strawberry.mutation(graphql_type=UserPayload, permission_classes=[IsAdmin])
    async def set_user_role(
        self,
        info: Info,
        id: strawberry.ID,
        role: UserRole,  # type: ignore[valid-type]
    ) -> Outcome[User]:
        admin = require_role(info, Role.ADMIN)
        return await users_admin.set_user_role(info.context, admin, id, role)

    @strawberry.mutation(
        graphql_type=UserPayload,
        permission_classes=[IsAdmin],
        description="Block sign-in; the user's tokens stop working on their next request.",
    )
    async def deactivate_user(self, info: Info, id: strawberry.ID) -> Outcome[User]:
        admin = require_role(info, Role.ADMIN)
        return await users_admin.set_user_active(info.context, admin, id, False)

    @strawberry.mutation(graphql_type=UserPayload, permission_classes=[IsAdmin])
    async def activate_user(self, info: Info, id: strawberry.ID) -> Outcome[User]:
        admin = require_role(info, Role.ADMIN)
        return await users_admin.set_user_active(info.context, admin, id, True)
