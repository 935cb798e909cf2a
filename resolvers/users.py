"""Account resolvers: registration, sign-in, tokens, profile, passwords, administration.

Each mutation validates everything first and returns typed `UserError`s without writing;
otherwise it writes in one transaction, commits, and only then hands emails to the worker.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from db.users import AuthSession, PasswordResetToken, Role, User
from resolvers import auth
from resolvers.pagination import Page, PageArgs, SortKey, paginate
from resolvers.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from resolvers.tokens import new_secret, secret_digest
from schema.errors import ErrorCode, UserError, user_error
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


def _password_errors(password: str, field_name: str, *, email: str, name: str) -> list[UserError]:
    problem = password_problem(password, email=email, name=name)
    if problem is None:
        return []
    code = (
        ErrorCode.PASSWORD_TOO_LONG
        if len(password) > MAX_PASSWORD_LENGTH
        else ErrorCode.WEAK_PASSWORD
    )
    return [user_error(code, problem, field_name)]


def _by_email(email: str) -> ColumnElement[bool]:
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
    errors += _password_errors(password, "password", email=normalized or "", name=cleaned or "")
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


async def login(ctx: Context, email: str, password: str) -> AuthResult:
    failed = AuthResult(
        errors=[user_error(ErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")]
    )
    normalized = normalize_email(email)
    async with ctx.sessions() as session:
        user = None
        if normalized is not None:
            user = (
                await session.execute(select(User).where(_by_email(normalized)))
            ).scalar_one_or_none()
        # Verify even for an unknown email, so timing does not reveal which accounts exist.
        if (
            not await verify_password(user.password_hash if user else None, password)
            or user is None
        ):
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
        return StatusResult.failed(user_error(ErrorCode.NOT_FOUND, "No such open session.", "id"))
    return StatusResult()


# --- profile and passwords ----------------------------------------------------------------


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


async def change_password(ctx: Context, user: User, current: str, new: str) -> UserResult:
    errors = _password_errors(new, "newPassword", email=user.email, name=user.name)
    if errors:
        return UserResult(errors=errors)
    async with ctx.sessions() as session:
        row = await session.get_one(User, user.id, with_for_update=True)
        if not await verify_password(row.password_hash, current):
            return UserResult(
                errors=[
                    user_error(
                        ErrorCode.INVALID_CREDENTIALS,
                        "Current password is incorrect.",
                        "currentPassword",
                    )
                ]
            )
        row.password_hash = await hash_password(new)
        # Every other session ends: whoever else knew the old password is signed out.
        await auth.revoke_sessions(
            session, AuthSession.user_id == user.id, AuthSession.id != ctx.session_id
        )
        await session.commit()
    return UserResult(row)


async def request_password_reset(ctx: Context, email: str) -> StatusResult:
    """The same answer whether or not the address has an account."""
    normalized = normalize_email(email)
    if normalized is None:
        return StatusResult.failed(
            user_error(ErrorCode.INVALID_EMAIL, "Enter a valid email address.", "email")
        )
    settings = ctx.settings
    now = datetime.now(UTC)
    email_ids: list[int] = []
    async with ctx.sessions() as session:
        user = (
            await session.execute(select(User).where(_by_email(normalized), User.is_active))
        ).scalar_one_or_none()
        if user is not None:
            recent = (
                await session.execute(
                    select(func.count()).where(
                        PasswordResetToken.user_id == user.id,
                        PasswordResetToken.created_at > now - timedelta(hours=1),
                    )
                )
            ).scalar_one()
            # Quietly cap resets per hour so the endpoint cannot be used to flood an inbox.
            if recent < settings.password_resets_per_hour:
                token = new_secret()
                session.add(
                    PasswordResetToken(
                        user_id=user.id,
                        token_hash=secret_digest(token),
                        expires_at=now + timedelta(minutes=settings.password_reset_minutes),
                    )
                )
                text = templates.password_reset(
                    user.name, token, settings.public_url, settings.password_reset_minutes
                )
                row = await add_email(
                    session, kind=text.kind, to=user.email, subject=text.subject, body=text.body
                )
                email_ids.append(row.id)
                await session.commit()
    await dispatch_emails(ctx.services.queue, email_ids)
    return StatusResult()


async def reset_password(ctx: Context, token: str, new_password: str) -> StatusResult:
    invalid = user_error(
        ErrorCode.INVALID_TOKEN, "This reset link is invalid or has expired.", "token"
    )
    now = datetime.now(UTC)
    async with ctx.sessions() as session:
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
            return StatusResult.failed(invalid)
        # Check strength before spending the token, so a weak choice can be retried.
        errors = _password_errors(new_password, "newPassword", email=user.email, name=user.name)
        if errors:
            return StatusResult(ok=False, errors=errors)
        # Spend this token and every other outstanding one of the user.
        await session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        user.password_hash = await hash_password(new_password)
        await auth.revoke_sessions(session, AuthSession.user_id == user.id)
        await session.commit()
    return StatusResult()


# --- administration -----------------------------------------------------------------------

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
    return UserResult(errors=[user_error(ErrorCode.NOT_FOUND, "No such user.", "id")])


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
