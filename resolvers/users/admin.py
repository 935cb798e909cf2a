"""User administration: list accounts, change a user's role, deactivate or reactivate one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.users import AuthSession, Role, User
from resolvers.context import Context
from resolvers.errors import ErrorCode, not_found, user_error
from resolvers.ids import key_of
from resolvers.orderings import OLDEST_USERS
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.results import Outcome
from resolvers.users import sessions


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_users(ctx: Context, args: PageArgs, search: str | None) -> Page[User]:
    statement = select(User)
    if search and search.strip():
        pattern = f"%{_escape_like(search.strip()[:100])}%"
        statement = statement.where(
            or_(User.email.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\"))
        )
    return await paginate(ctx.readers, statement, OLDEST_USERS, args)


async def _change_user(
    ctx: Context,
    admin: User,
    user_id: str,
    change: Callable[[AsyncSession, User], Awaitable[None]],
    on_self: str,
) -> Outcome[User]:
    """Lock another user's row and apply `change` to it in one transaction."""
    key = key_of(user_id, "User")
    if key == admin.id:
        return Outcome.refused(user_error(ErrorCode.CANNOT_MODIFY_SELF, on_self, "id"))
    async with ctx.writer() as session:
        user = await session.get(User, key, with_for_update=True) if key is not None else None
        if user is None:
            return Outcome.refused(not_found("user"))
        await change(session, user)
        await session.commit()
    return Outcome(user)


async def set_user_role(ctx: Context, admin: User, user_id: str, role: Role) -> Outcome[User]:
    async def change(session: AsyncSession, user: User) -> None:
        user.role = role

    return await _change_user(ctx, admin, user_id, change, "You cannot change your own role.")


async def set_user_active(ctx: Context, admin: User, user_id: str, active: bool) -> Outcome[User]:
    async def change(session: AsyncSession, user: User) -> None:
        user.is_active = active
        if not active:
            # The user's access tokens name their session: they stop working at once.
            await sessions.revoke_sessions(session, AuthSession.user_id == user.id)

    message = "You cannot deactivate yourself." if not active else "You cannot activate yourself."
    return await _change_user(ctx, admin, user_id, change, message)


async def user_by_id(ctx: Context, user_id: str) -> User | None:
    key = key_of(user_id, "User")
    return await ctx.loaders.user_by_id.load(key) if key is not None else None
