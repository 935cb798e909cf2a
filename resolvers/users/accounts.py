"""Accounts: creating one (registration, and `catalog users create`), signing in, refreshing,
signing out, the caller's sessions and profile.

Each mutation validates everything first and returns typed `UserError`s without writing;
otherwise it writes in one transaction, commits, and only then hands emails to the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.text import clean_line
from db.users import AuthSession, Role, User, by_email
from resolvers.context import Context
from resolvers.errors import ErrorCode, UserError, invalid_input, not_found, user_error
from resolvers.ids import uuid_key_of
from resolvers.results import Outcome, SignedIn, Status
from resolvers.users import sessions
from resolvers.users.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from resolvers.users.throttle_rules import Decision
from workers import templates
from workers.outbox import add_email, dispatch_emails

MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254


# --- validation ---------------------------------------------------------------------------


def normalize_email(raw: str) -> str | None:
    if len(raw) > MAX_EMAIL_LENGTH:
        return None
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def clean_name(raw: str) -> str | None:
    return clean_line(raw, MAX_NAME_LENGTH)


def invalid_name() -> UserError:
    return invalid_input(f"Name must be 1 to {MAX_NAME_LENGTH} printable characters.", "name")


def invalid_email() -> UserError:
    return user_error(ErrorCode.INVALID_EMAIL, "Enter a valid email address.", "email")


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


# --- account creation ---------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    """An account's input, checked: a normalised email, a clean name, an acceptable password."""

    email: str
    name: str
    password: str


def check_new_account(email: str, name: str, password: str) -> NewAccount | list[UserError]:
    normalized = normalize_email(email)
    cleaned = clean_name(name)
    errors = [] if normalized is not None else [invalid_email()]
    if cleaned is None:
        errors.append(invalid_name())
    errors += password_errors(password, "password", email=normalized or "", name=cleaned or "")
    if errors or normalized is None or cleaned is None:
        return errors
    return NewAccount(normalized, cleaned, password)


def email_taken() -> UserError:
    return user_error(ErrorCode.EMAIL_TAKEN, "This email is already registered.", "email")


def throttled(ctx: Context, decision: Decision, message: str) -> UserError:
    """A refusal by a throttle: the payload error, and HTTP 429 with `Retry-After`."""
    ctx.slow_down(decision.retry_after)
    return user_error(ErrorCode.TOO_MANY_ATTEMPTS, message)


async def insert_account(session: AsyncSession, account: NewAccount, role: Role) -> User | None:
    """Add the account to the caller's transaction; None when the email is already registered.

    The unique index on lower(email) decides, so concurrent sign-ups cannot both win.
    """
    user = User(
        email=account.email,
        name=account.name,
        password_hash=await hash_password(account.password),
        role=role,
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        return None
    return user


async def _sign_in(ctx: Context, session: AsyncSession, user: User) -> sessions.IssuedTokens:
    return await sessions.start_session(
        session,
        ctx.services.signer,
        user,
        lifetime=ctx.config.refresh_token_lifetime,
        user_agent=ctx.user_agent,
        ip_address=ctx.client_ip,
    )


def _signed_in(ctx: Context, user: User, tokens: sessions.IssuedTokens) -> SignedIn:
    ctx.signed_in_user_id = user.id
    return SignedIn(user, tokens.access_token, tokens.refresh_token)


# --- registration and sign-in -------------------------------------------------------------


async def register(ctx: Context, email: str, name: str, password: str) -> SignedIn:
    account = check_new_account(email, name, password)
    if isinstance(account, list):
        return SignedIn.refused(*account)
    # Counted before the password is hashed: hashing is what makes registration expensive.
    decision = await ctx.services.throttle.admit_registration(ctx.client_ip)
    if not decision.allowed:
        return SignedIn.refused(
            throttled(ctx, decision, "Too many new accounts from this network; try again later.")
        )
    async with ctx.writer() as session:
        user = await insert_account(session, account, Role.CUSTOMER)
        if user is None:
            await session.rollback()
            return SignedIn.refused(email_taken())
        tokens = await _sign_in(ctx, session, user)
        text = templates.welcome(user.name, ctx.config.public_url)
        email_row = await add_email(
            session, kind=text.kind, to=user.email, subject=text.subject, body=text.body
        )
        await session.commit()
    await dispatch_emails(ctx.services.redis, [email_row.id])
    return _signed_in(ctx, user, tokens)


async def login(ctx: Context, email: str, password: str) -> SignedIn:
    failed = SignedIn.refused(
        user_error(ErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")
    )
    normalized = normalize_email(email)
    # Unknown and malformed emails are counted like accounts: refusals reveal nothing.
    account_key = normalized or email.strip()[:MAX_EMAIL_LENGTH]
    throttle = ctx.services.throttle
    # Admitted and counted before the password is checked, so parallel guesses cannot all run.
    decision = await throttle.admit_sign_in(account_key, ctx.client_ip)
    if not decision.allowed:
        return SignedIn.refused(
            throttled(
                ctx,
                decision,
                "Too many failed sign-ins; wait a few minutes or reset your password.",
            )
        )
    async with ctx.writer() as session:
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
            return failed
        if not user.is_active:
            return SignedIn.refused(
                user_error(ErrorCode.ACCOUNT_DISABLED, "This account has been deactivated.")
            )
        if needs_rehash(user.password_hash):
            user.password_hash = await hash_password(password)
        user.last_login_at = datetime.now(UTC)
        tokens = await _sign_in(ctx, session, user)
        await session.commit()
    await throttle.signed_in(account_key, ctx.client_ip)
    return _signed_in(ctx, user, tokens)


def _invalid_refresh_token() -> UserError:
    return user_error(
        ErrorCode.INVALID_TOKEN, "This refresh token is invalid or has expired.", "refreshToken"
    )


async def refresh_token(ctx: Context, token: str) -> SignedIn:
    async with ctx.writer() as session:
        rotated = await sessions.rotate_refresh_token(
            session,
            ctx.services.signer,
            token,
            lifetime=ctx.config.refresh_token_lifetime,
            grace=timedelta(seconds=ctx.config.refresh_grace_seconds),
        )
        # Commit even on failure: detected reuse has revoked the session.
        await session.commit()
    if rotated is None:
        return SignedIn.refused(_invalid_refresh_token())
    user, tokens = rotated
    return _signed_in(ctx, user, tokens)


async def logout(ctx: Context, token: str) -> Status:
    async with ctx.writer() as session:
        session_id = await sessions.session_of_refresh_token(session, token)
        if session_id is None:
            return Status.refused(_invalid_refresh_token())
        await sessions.revoke_sessions(session, AuthSession.id == session_id)
        await session.commit()
    return Status()


async def logout_all(ctx: Context, user: User) -> Status:
    async with ctx.writer() as session:
        await sessions.revoke_sessions(session, AuthSession.user_id == user.id)
        await session.commit()
    return Status()


async def my_sessions(ctx: Context, user: User) -> list[AuthSession]:
    async with ctx.readers() as session:
        return await sessions.active_sessions(session, user.id)


async def revoke_session(ctx: Context, user: User, session_id: str) -> Status:
    key = uuid_key_of(session_id, "Session")
    ended = 0
    if key is not None:
        async with ctx.writer() as session:
            ended = await sessions.revoke_sessions(
                session, AuthSession.id == key, AuthSession.user_id == user.id
            )
            await session.commit()
    if not ended:
        return Status.refused(not_found("open session"))
    return Status()


# --- profile -----------------------------------------------------------------------------


async def update_me(ctx: Context, user: User, name: str | None) -> Outcome[User]:
    if name is None:
        return Outcome(user)
    cleaned = clean_name(name)
    if cleaned is None:
        return Outcome.refused(invalid_name())
    async with ctx.writer() as session:
        updated = await session.get_one(User, user.id, with_for_update=True)
        updated.name = cleaned
        await session.commit()
    return Outcome(updated)
