"""Sessions and tokens: sign-in, rotation with reuse detection, revocation.

A session is one login. Its refresh tokens form a family: each use rotates the token, and
presenting a token that was already rotated means it leaked, so the whole session ends, unless
it comes again within a few seconds of its rotation (two tabs that refreshed at once): that
gets the same successor.
Access tokens name their session, so ending a session ends its access tokens on the next
request rather than at their expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from db.secrets import new_secret, secret_digest
from db.session import SessionFactory
from db.users import AuthSession, RefreshToken, Role, User
from resolvers.users.tokens import InvalidAccessToken, TokenSigner


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
    async with sessions() as session:
        connection = await session.connection()
        row = (
            await connection.exec_driver_sql(
                VIEWER_SQL, (claims.user_id, claims.session_id, datetime.now(UTC))
            )
        ).first()
    if row is None:
        raise AuthFailure("The session has ended; sign in again.")
    return _detached_user(row), claims.session_id


# Every authenticated request runs this, so it is plain SQL (prepared once per connection,
# nothing built or compiled per request), and the user is made from its row without the ORM's
# loading machinery. One statement: the user must be active and the session neither revoked
# nor expired.
VIEWER_COLUMNS = (
    "id",
    "email",
    "name",
    "password_hash",
    "role",
    "is_active",
    "created_at",
    "updated_at",
    "last_login_at",
)
VIEWER_SQL = (
    "SELECT u.id, u.email, u.name, u.password_hash, u.role, u.is_active, u.created_at, "
    "u.updated_at, u.last_login_at "
    "FROM users AS u JOIN auth_sessions AS s ON s.user_id = u.id "
    "WHERE u.id = $1 AND u.is_active AND s.id = $2 AND s.revoked_at IS NULL "
    "AND s.expires_at > $3"
)


def _detached_user(row: Row[Any]) -> User:
    """The user of a VIEWER_SQL row, as a query through a closed session would leave it
    (detached, with its identity): the same object a loaded one is to every caller."""
    values = dict(zip(VIEWER_COLUMNS, row, strict=True))
    values["role"] = Role(values["role"])
    user = User(**values)
    make_transient_to_detached(user)
    return user


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
    session: AsyncSession,
    signer: TokenSigner,
    presented: str,
    *,
    lifetime: timedelta,
    grace: timedelta,
) -> tuple[User, IssuedTokens] | None:
    """Exchange a refresh token for new tokens; None when it cannot be honoured.

    The successor is derived from the presented token (`TokenSigner.refresh_successor`), so the
    same token presented again within `grace` of its exchange (two tabs refreshing at once)
    gets the same successor, as long as that is still unused. Any other reuse of an exchanged
    token revokes its session. The caller commits either way.
    """
    now = datetime.now(UTC)
    digest = secret_digest(presented)
    # Marking the token used is atomic: of concurrent exchanges one claims it; the others wait
    # for its transaction and then find it used (and its successor written).
    claimed = (
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == digest, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .returning(RefreshToken.session_id, RefreshToken.expires_at)
        )
    ).one_or_none()
    if claimed is None:
        return await _exchange_again(session, signer, presented, now=now, grace=grace)
    session_id, token_expires_at = claimed
    found = await _open_session(session, session_id, now)
    if found is None or token_expires_at <= now:
        return None
    auth_session, user = found
    expires_at = now + lifetime
    auth_session.last_used_at = now
    auth_session.expires_at = expires_at
    successor = signer.refresh_successor(presented)
    session.add(
        RefreshToken(
            session_id=session_id, token_hash=secret_digest(successor), expires_at=expires_at
        )
    )
    return user, IssuedTokens(signer.issue(user.id, session_id), successor, session_id)


async def _exchange_again(
    session: AsyncSession, signer: TokenSigner, presented: str, *, now: datetime, grace: timedelta
) -> tuple[User, IssuedTokens] | None:
    """A token that is unknown (None) or already exchanged: within the grace window and with
    its successor unused, that same successor again; otherwise reuse, which ends the session."""
    used = (
        await session.execute(
            select(RefreshToken.session_id, RefreshToken.used_at).where(
                RefreshToken.token_hash == secret_digest(presented)
            )
        )
    ).one_or_none()
    if used is None:
        return None
    session_id, used_at = used
    successor = signer.refresh_successor(presented)
    if used_at is not None and now - used_at <= grace:
        unused_successor = await session.scalar(
            select(RefreshToken.id).where(
                RefreshToken.token_hash == secret_digest(successor),
                RefreshToken.session_id == session_id,
                RefreshToken.used_at.is_(None),
                RefreshToken.expires_at > now,
            )
        )
        found = await _open_session(session, session_id, now)
        if unused_successor is not None and found is not None:
            _, user = found
            return user, IssuedTokens(signer.issue(user.id, session_id), successor, session_id)
    await revoke_sessions(session, AuthSession.id == session_id)
    return None


async def _open_session(
    session: AsyncSession, session_id: uuid.UUID, now: datetime
) -> tuple[AuthSession, User] | None:
    """The session (locked) and its user, when the session is open and the user active."""
    auth_session, user = (
        await session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == session_id)
            .with_for_update(of=AuthSession)
        )
    ).one()
    if auth_session.revoked_at is not None or auth_session.expires_at <= now or not user.is_active:
        return None
    return auth_session, user


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
