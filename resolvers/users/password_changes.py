"""Password changes: change while signed in, request a reset by email, reset with the token.

Hashing and strength rules live in `resolvers.users.passwords`; this module holds the resolvers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from db.secrets import secret_digest
from db.users import AuthSession, PasswordResetToken, User
from resolvers.context import Context
from resolvers.errors import ErrorCode, user_error
from resolvers.results import Outcome, Status
from resolvers.users import sessions
from resolvers.users.accounts import (
    invalid_email,
    normalize_email,
    password_errors,
    throttled,
)
from resolvers.users.passwords import hash_password, verify_password
from workers.password_resets import dispatch_reset_requests, record_reset_request


async def change_password(ctx: Context, user: User, current: str, new: str) -> Outcome[User]:
    errors = password_errors(new, "newPassword", email=user.email, name=user.name)
    if errors:
        return Outcome.refused(*errors)
    # A stolen access token must not become a way to guess the password, then change it.
    throttle = ctx.services.throttle
    decision = await throttle.admit_password_check(user.id)
    if not decision.allowed:
        return Outcome.refused(
            throttled(ctx, decision, "Too many wrong passwords; wait a few minutes.")
        )
    async with ctx.writer() as session:
        row = await session.get_one(User, user.id, with_for_update=True)
        if not await verify_password(row.password_hash, current):
            return Outcome.refused(
                user_error(
                    ErrorCode.INVALID_CREDENTIALS,
                    "Current password is incorrect.",
                    "currentPassword",
                )
            )
        row.password_hash = await hash_password(new)
        # Every other session ends: whoever else knew the old password is signed out.
        await sessions.revoke_sessions(
            session, AuthSession.user_id == user.id, AuthSession.id != ctx.viewer.session_id
        )
        await session.commit()
    await throttle.password_confirmed(user.id)
    return Outcome(row)


async def request_password_reset(ctx: Context, email: str) -> Status:
    """The same answer, and the same work, whether or not the address has an account: record
    the request and hand it to the worker, which looks the account up and sends the email."""
    normalized = normalize_email(email)
    if normalized is None:
        return Status.refused(invalid_email())
    async with ctx.writer() as session:
        request = await record_reset_request(session, normalized)
        await session.commit()
    await dispatch_reset_requests(ctx.services.redis, [request.id])
    return Status()


async def reset_password(ctx: Context, token: str, new_password: str) -> Status:
    invalid = user_error(
        ErrorCode.INVALID_TOKEN, "This reset link is invalid or has expired.", "token"
    )
    now = datetime.now(UTC)
    async with ctx.writer() as session:
        user = (
            await session.execute(
                select(User)
                .join(PasswordResetToken, PasswordResetToken.user_id == User.id)
                .where(
                    PasswordResetToken.token_hash == secret_digest(token),
                    PasswordResetToken.used_at.is_(None),
                    PasswordResetToken.expires_at > now,
                    User.is_active,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if user is None:
            return Status.refused(invalid)
        # Check strength before spending the token, so a weak choice can be retried.
        errors = password_errors(new_password, "newPassword", email=user.email, name=user.name)
        if errors:
            return Status.refused(*errors)
        # Spend this token and every other outstanding one of the user.
        await session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        user.password_hash = await hash_password(new_password)
        await sessions.revoke_sessions(session, AuthSession.user_id == user.id)
        await session.commit()
    return Status()
