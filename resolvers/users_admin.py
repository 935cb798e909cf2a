"""User administration: list accounts, change a user's role, deactivate or reactivate one."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.context import Context
from db.users import AuthSession, Role, User
from resolvers import auth
from resolvers.accounts import UserResult
from resolvers.pagination import Page, PageArgs, SortKey, paginate
from schema.errors import ErrorCode, not_found, user_error

USER_ORDER: list[SortKey[User]] = [SortKey(User.id, lambda user: user.id)]


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_users(ctx: Context, args: PageArgs, search: str | None) -> Page[User]:
    statement = select(User)
    if search and search.strip():
        pattern = f"%{_escape_like(search.strip()[:100])}%"
        statement = statement.where(
            or_(User.email.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\"))
        )
    return await paginate(ctx.readers, statement, USER_ORDER, args)


def _no_such_user() -> UserResult:
    return UserResult(errors=[not_found("user")])


async def set_user_role(ctx: Context, admin: User, user_id: int | None, role: Role) -> UserResult:
    if user_id == admin.id:
        return UserResult(
            errors=[
                user_error(ErrorCode.CANNOT_MODIFY_SELF, "You cannot change your own role.", "id")
            ]
        )
    async with ctx.sessions() as session:
        user = await session.get(User, user_id, with_for_update=True) if user_id else None
        if user is None:
            return _no_such_user()
        user.role = role
        await session.commit()
    return UserResult(user)


async def set_user_active(
    ctx: Context, admin: User, user_id: int | None, active: bool
) -> UserResult:
    if user_id == admin.id:
        return UserResult(
            errors=[
                user_error(ErrorCode.CANNOT_MODIFY_SELF, "You cannot deactivate yourself.", "id")
            ]
        )
    async with ctx.sessions() as session:
        user = await session.get(User, user_id, with_for_update=True) if user_id else None
        if user is None:
            return _no_such_user()
        user.is_active = active
        if not active:
            await auth.revoke_sessions(session, AuthSession.user_id == user.id)
        await session.commit()
    return UserResult(user)
