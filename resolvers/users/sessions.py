"""Sessions and tokens: sign-in, rotation with reuse detection, revocation.

A session is one login. Its refresh tokens form a family: each use rotates the token, and
presenting a token that was already rotated means it leaked, so the whole session ends.
Access tokens name their session, so ending a session ends its access tokens on the next
request rather than at their expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.session import SessionFactory
from db.users import AuthSession, RefreshToken, User
from resolvers.users.tokens import InvalidAccessToken, TokenSigner, new_secret, secret_digest


class AuthFailure(Exception):
    """The request's access token cannot be honoured; the message is safe for clients."""


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    session_id: uuid.UUID


async def authenticate(
    sessions: SessionFactory, signer: TokenSigner, token: str
) -> tuple[User, uuid.UUID]:
    """The user and session an access token stands for, checked against the database."""
    if not token:
        raise AuthFailure("The Authorization header must be `Bearer <access token>`.")
    try:
        claims = signer.verify(token)
    except InvalidAccessToken as error:
        raise AuthFailure(
            "The access token has expired." if error.expired else "The access token is invalid."
        ) from error
    # One statement: the user must be active and the session neither revoked nor expired.
    statement = (
        select(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            User.id == claims.user_id,
            User.is_active,
            AuthSession.id == claims.session_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > datetime.now(UTC),
        )
    )
    async with sessions() as session:
        user = (await session.execute(statement)).scalar_one_or_none()
    if user is None:
        raise AuthFailure("The session has ended; sign in again.")
    return user, claims.session_id


async def start_session(
    session: AsyncSession,
    signer: TokenSigner,
    user: User,
    *,
    lifetime: timedelta,
    user_agent: str | None,
    ip_address: str | None,
) -> IssuedTokens:
    expires_at = datetime.now(UTC) + lifetime
    auth_session = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        expires_at=expires_at,
        user_agent=user_agent,
        ip_address=ip_address,
    )
    session.add(auth_session)
    await session.flush()
    refresh = new_secret()
    session.add(
        RefreshToken(
            session_id=auth_session.id, token_hash=secret_digest(refresh), expires_at=expires_at
        )
    )
    return IssuedTokens(signer.issue(user.id, auth_session.id), refresh, auth_session.id)


async def rotate_refresh_token(
    session: AsyncSession, signer: TokenSigner, presented: str, *, lifetime: timedelta
) -> tuple[User, IssuedTokens] | None:
    """Exchange a refresh token for new tokens; None when it cannot be honoured.

    Reuse of an already rotated token revokes its session. The caller commits either way.
    """
    now = datetime.now(UTC)
    digest = secret_digest(presented)
    # Marking the token used is atomic, so two concurrent refreshes cannot both succeed.
    claimed = (
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == digest, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .returning(RefreshToken.session_id, RefreshToken.expires_at)
        )
    ).one_or_none()
    if claimed is None:
        reused = (
            await session.execute(
                select(RefreshToken.session_id).where(RefreshToken.token_hash == digest)
            )
        ).scalar_one_or_none()
        if reused is not None:
            await revoke_sessions(session, AuthSession.id == reused)
        return None
    session_id, token_expires_at = claimed
    auth_session, user = (
        await session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == session_id)
            .with_for_update(of=AuthSession)
        )
    ).one()
    if auth_session.revoked_at is not None or token_expires_at <= now or not user.is_active:
        return None
    expires_at = now + lifetime
    auth_session.last_used_at = now
    auth_session.expires_at = expires_at
    refresh = new_secret()
    session.add(
        RefreshToken(
            session_id=session_id, token_hash=secret_digest(refresh), expires_at=expires_at
        )
    )
    return user, IssuedTokens(signer.issue(user.id, session_id), refresh, session_id)


async def session_of_refresh_token(session: AsyncSession, presented: str) -> uuid.UUID | None:
    return (
        await session.execute(
            select(RefreshToken.session_id).where(
                RefreshToken.token_hash == secret_digest(presented)
            )
        )
    ).scalar_one_or_none()


async def revoke_sessions(session: AsyncSession, *conditions: object) -> int:
    """End every still-open session matching the conditions; returns how many ended."""
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
        .values(revoked_at=datetime.now(UTC))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def active_sessions(session: AsyncSession, user_id: int) -> list[AuthSession]:
    statement = (
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > datetime.now(UTC),
        )
        .order_by(AuthSession.last_used_at.desc(), AuthSession.id)
    )
    return list((await session.execute(statement)).scalars().all())
