"""Accounts: registration, sign-in, refresh, logout, sessions and the caller's profile.

Also the result dataclasses and the input checks the other account modules share
(`resolvers.password_changes`, `resolvers.users_admin`).

Each mutation validates everything first and returns typed `UserError`s without writing;
otherwise it writes in one transaction, commits, and only then hands emails to the worker.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from db.users import AuthSession, Role, User
from resolvers import auth
from resolvers.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from resolvers.throttle import Throttle
from schema.errors import ErrorCode, UserError, not_found, user_error
from workers import templates
from workers.outbox import add_email, dispatch_emails

MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254


@dataclass
class AuthResult:
    user: User | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass
class UserResult:
    user: User | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass
class StatusResult:
    ok: bool = True
    errors: list[UserError] = field(default_factory=list)

    @classmethod
    def failed(cls, *errors: UserError) -> StatusResult:
        return cls(ok=False, errors=list(errors))


# --- validation ---------------------------------------------------------------------------


def normalize_email(raw: str) -> str | None:
    if len(raw) > MAX_EMAIL_LENGTH:
        return None
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def clean_name(raw: str) -> str | None:
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        return None
    if any(unicodedata.category(char).startswith("C") for char in name):
        return None
    return name


def _invalid_name() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT, f"Name must be 1 to {MAX_NAME_LENGTH} characters.", "name"
    )


def password_errors(password: str, field_name: str, *, email: str, name: str) -> list[UserError]:
    problem = password_problem(password, email=email, name=name)
    if problem is None:
        return []
    code = (
        ErrorCode.PASSWORD_TOO_LONG
        if len(password) > MAX_PASSWORD_LENGTH
        else ErrorCode.WEAK_PASSWORD
    )
    return [user_error(code, problem, field_name)]


def by_email(email: str) -> ColumnElement[bool]:
    return func.lower(User.email) == email.lower()


def _refresh_lifetime(ctx: Context) -> timedelta:
    return timedelta(days=ctx.settings.refresh_token_days)


async def _sign_in(ctx: Context, session: AsyncSession, user: User) -> auth.IssuedTokens:
    return await auth.start_session(
        session,
        ctx.services.signer,
        user,
        lifetime=_refresh_lifetime(ctx),
        user_agent=ctx.user_agent,
        ip_address=ctx.client_ip,
    )


# --- registration and sign-in -------------------------------------------------------------


async def register(ctx: Context, email: str, name: str, password: str) -> AuthResult:
    errors: list[UserError] = []
    normalized = normalize_email(email)
    if normalized is None:
        errors.append(user_error(ErrorCode.INVALID_EMAIL, "Enter a valid email address.", "email"))
    cleaned = clean_name(name)
    if cleaned is None:
        errors.append(_invalid_name())
    errors += password_errors(password, "password", email=normalized or "", name=cleaned or "")
    if errors or normalized is None or cleaned is None:
        return AuthResult(errors=errors)

    password_hash = await hash_password(password)
    async with ctx.sessions() as session:
        user = User(email=normalized, name=cleaned, password_hash=password_hash, role=Role.CUSTOMER)
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            # The unique index on lower(email) decides, so concurrent sign-ups cannot both win.
            await session.rollback()
            return AuthResult(
                errors=[
                    user_error(ErrorCode.EMAIL_TAKEN, "This email is already registered.", "email")
                ]
            )
        tokens = await _sign_in(ctx, session, user)
        text = templates.welcome(user.name, ctx.settings.public_url)
        email_row = await add_email(
            session, kind=text.kind, to=user.email, subject=text.subject, body=text.body
        )
        await session.commit()
    await dispatch_emails(ctx.services.queue, [email_row.id])
    ctx.signed_in_user_id = user.id
    return AuthResult(user, tokens.access_token, tokens.refresh_token)


def _login_throttles(ctx: Context) -> tuple[Throttle, Throttle]:
    settings = ctx.settings
    window = settings.login_failure_window_seconds
    redis = ctx.services.queue
    return (
        Throttle(redis, "login-email", settings.login_failures_per_email, window),
        Throttle(redis, "login-address", settings.login_failures_per_address, window),
    )


async def login(ctx: Context, email: str, password: str) -> AuthResult:
    failed = AuthResult(
        errors=[user_error(ErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")]
    )
    normalized = normalize_email(email)
    by_account, by_address = _login_throttles(ctx)
    account_key = (normalized or email.strip()[:MAX_EMAIL_LENGTH]).lower()
    address_key = ctx.client_ip or "unknown"
    if await by_account.exceeded(account_key) or await by_address.exceeded(address_key):
        return AuthResult(
            errors=[
                user_error(
                    ErrorCode.TOO_MANY_ATTEMPTS,
                    "Too many failed sign-ins; wait a few minutes or reset your password.",
                )
            ]
        )
    async with ctx.sessions() as session:
        user = None
        if normalized is not None:
            user = (
                await session.execute(select(User).where(by_email(normalized)))
            ).scalar_one_or_none()
        # Verify even for an unknown email, so timing does not reveal which accounts exist.
        if (
            not await verify_password(user.password_hash if user else None, password)
            or user is None
        ):
            await by_account.hit(account_key)
            await by_address.hit(address_key)
            return failed
        if not user.is_active:
            return AuthResult(
                errors=[
                    user_error(ErrorCode.ACCOUNT_DISABLED, "This account has been deactivated.")
                ]
            )
        if needs_rehash(user.password_hash):
            user.password_hash = await hash_password(password)
        user.last_login_at = datetime.now(UTC)
        tokens = await _sign_in(ctx, session, user)
        await session.commit()
    await by_account.reset(account_key)
    ctx.signed_in_user_id = user.id
    return AuthResult(user, tokens.access_token, tokens.refresh_token)


def _invalid_refresh_token() -> UserError:
    return user_error(
        ErrorCode.INVALID_TOKEN, "This refresh token is invalid or has expired.", "refreshToken"
    )


async def refresh_token(ctx: Context, token: str) -> AuthResult:
    async with ctx.sessions() as session:
        rotated = await auth.rotate_refresh_token(
            session, ctx.services.signer, token, lifetime=_refresh_lifetime(ctx)
        )
        # Commit even on failure: detected reuse has revoked the session.
        await session.commit()
    if rotated is None:
        return AuthResult(errors=[_invalid_refresh_token()])
    user, tokens = rotated
    ctx.signed_in_user_id = user.id
    return AuthResult(user, tokens.access_token, tokens.refresh_token)


async def logout(ctx: Context, token: str) -> StatusResult:
    async with ctx.sessions() as session:
        session_id = await auth.session_of_refresh_token(session, token)
        if session_id is None:
            return StatusResult.failed(_invalid_refresh_token())
        await auth.revoke_sessions(session, AuthSession.id == session_id)
        await session.commit()
    return StatusResult()


async def logout_all(ctx: Context, user: User) -> StatusResult:
    async with ctx.sessions() as session:
        await auth.revoke_sessions(session, AuthSession.user_id == user.id)
        await session.commit()
    return StatusResult()


async def my_sessions(ctx: Context, user: User) -> list[AuthSession]:
    async with ctx.readers() as session:
        return await auth.active_sessions(session, user.id)


async def revoke_session(ctx: Context, user: User, session_id: uuid.UUID | None) -> StatusResult:
    async with ctx.sessions() as session:
        ended = 0
        if session_id is not None:
            ended = await auth.revoke_sessions(
                session, AuthSession.id == session_id, AuthSession.user_id == user.id
            )
        await session.commit()
    if not ended:
        return StatusResult.failed(not_found("open session"))
    return StatusResult()


# --- profile -----------------------------------------------------------------------------


async def update_me(ctx: Context, user: User, name: str | None) -> UserResult:
    if name is None:
        return UserResult(user)
    cleaned = clean_name(name)
    if cleaned is None:
        return UserResult(errors=[_invalid_name()])
    async with ctx.sessions() as session:
        updated = await session.get_one(User, user.id, with_for_update=True)
        updated.name = cleaned
        await session.commit()
    return UserResult(updated)
