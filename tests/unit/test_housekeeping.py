"""The nightly purge of expired auth rows (workers.housekeeping) on real PostgreSQL."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.orders import IDEMPOTENCY_KEY_LIFETIME, IdempotencyKey
from db.users import AuthSession, PasswordResetRequest, PasswordResetToken, RefreshToken, User
from resolvers.context import Services
from tests.support.database import empty_state
from workers.housekeeping import (
    KEEP_ENDED_SESSIONS,
    KEEP_PROCESSED_RESET_REQUESTS,
    purge_expired_auth,
    purge_expired_idempotency_keys,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Well clear of the cut-off either way, however long the test takes to get there.
JUST_INSIDE = KEEP_ENDED_SESSIONS - HOUR
JUST_OUTSIDE = KEEP_ENDED_SESSIONS + HOUR


@pytest.fixture
async def clean(engine: AsyncEngine, redis: Redis) -> None:
    await empty_state(engine, redis)


def ctx(services: Services) -> dict[str, Any]:
    return {"sessions": services.sessions}


async def add_user(services: Services, name: str) -> User:
    async with services.sessions() as session:
        user = User(email=f"{name}@example.com", name=name, password_hash="x")
        session.add(user)
        await session.commit()
    return user


async def add_session(
    services: Services,
    user: User,
    *,
    expires_at: datetime,
    revoked_at: datetime | None = None,
    tokens: tuple[datetime, ...] = (),
) -> uuid.UUID:
    """A session, with refresh tokens expiring at `tokens`; returns its id."""
    async with services.sessions() as session:
        login = AuthSession(
            user_id=user.id,
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
        session.add(login)
        await session.flush()
        for expiry in tokens:
            session.add(
                RefreshToken(
                    session_id=login.id, token_hash=secrets.token_bytes(32), expires_at=expiry
                )
            )
        await session.commit()
        return login.id


async def add_reset_token(
    services: Services, user: User, expires_at: datetime, used_at: datetime | None = None
) -> int:
    async with services.sessions() as session:
        token = PasswordResetToken(
            user_id=user.id,
            token_hash=secrets.token_bytes(32),
            expires_at=expires_at,
            used_at=used_at,
        )
        session.add(token)
        await session.commit()
        return token.id


async def session_ids(services: Services) -> set[uuid.UUID]:
    async with services.sessions() as session:
        return set((await session.execute(select(AuthSession.id))).scalars())


async def token_expiries(services: Services) -> dict[uuid.UUID, list[datetime]]:
    async with services.sessions() as session:
        rows = (
            await session.execute(select(RefreshToken.session_id, RefreshToken.expires_at))
        ).all()
    found: dict[uuid.UUID, list[datetime]] = {}
    for session_id, expires_at in rows:
        found.setdefault(session_id, []).append(expires_at)
    return {key: sorted(value) for key, value in found.items()}


async def reset_ids(services: Services) -> set[int]:
    async with services.sessions() as session:
        return set((await session.execute(select(PasswordResetToken.id))).scalars())


async def user_count(services: Services) -> int:
    async with services.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(User))).scalar_one())


@pytest.mark.usefixtures("clean")
async def test_purges_long_ended_sessions_and_keeps_recent_and_open_ones(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    ann = await add_user(services, "ann")
    live = now + DAY
    kept = {
        "open": await add_session(services, ann, expires_at=now + 30 * DAY),
        "expired lately": await add_session(services, ann, expires_at=now - DAY),
        "expired just inside": await add_session(services, ann, expires_at=now - JUST_INSIDE),
        "revoked lately": await add_session(services, ann, expires_at=live, revoked_at=now - DAY),
        "revoked just inside": await add_session(
            services, ann, expires_at=live, revoked_at=now - JUST_INSIDE
        ),
    }
    purged = {
        "expired long ago": await add_session(services, ann, expires_at=now - 60 * DAY),
        "expired just outside": await add_session(services, ann, expires_at=now - JUST_OUTSIDE),
        "revoked long ago": await add_session(
            services, ann, expires_at=live, revoked_at=now - 20 * DAY
        ),
        "revoked just outside": await add_session(
            services, ann, expires_at=live, revoked_at=now - JUST_OUTSIDE
        ),
    }

    counts = await purge_expired_auth(ctx(services))

    assert counts == {
        "sessions": len(purged),
        "refresh_tokens": 0,
        "reset_tokens": 0,
        "reset_requests": 0,
    }
    assert await session_ids(services) == set(kept.values())
    assert await user_count(services) == 1  # a session's end is not its user's


@pytest.mark.usefixtures("clean")
async def test_purges_expired_tokens_keeps_live_ones_and_cascades_no_further(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    ann, bob = await add_user(services, "ann"), await add_user(services, "bob")
    expired, live = now - HOUR, now + 10 * DAY
    # An open session with one expired and one live refresh token.
    open_session = await add_session(
        services, ann, expires_at=now + 30 * DAY, tokens=(expired, live)
    )
    # A recently ended session keeps its (live) token, and loses its expired one.
    ended_lately = await add_session(
        services, bob, expires_at=now + 30 * DAY, revoked_at=now - DAY, tokens=(live, expired)
    )
    # A long-ended session goes, and its tokens with it (by cascade: not counted as tokens).
    await add_session(services, bob, expires_at=now - 30 * DAY, tokens=(expired, live, live))
    kept_resets = {
        await add_reset_token(services, ann, now + HOUR),
        # Used but not yet expired: expiry alone decides.
        await add_reset_token(services, bob, now + HOUR, used_at=now - HOUR),
    }
    await add_reset_token(services, ann, now - HOUR)
    await add_reset_token(services, bob, now - 30 * DAY, used_at=now - 30 * DAY)

    counts = await purge_expired_auth(ctx(services))

    assert counts == {"sessions": 1, "refresh_tokens": 2, "reset_tokens": 2, "reset_requests": 0}
    assert await session_ids(services) == {open_session, ended_lately}
    tokens = await token_expiries(services)
    assert set(tokens) == {open_session, ended_lately}
    assert all(
        len(expiries) == 1 and expiries[0] > datetime.now(UTC) for expiries in tokens.values()
    )
    assert await reset_ids(services) == kept_resets
    assert await user_count(services) == 2

    # Nothing left to purge: a second run changes nothing.
    again = await purge_expired_auth(ctx(services))
    assert again == {"sessions": 0, "refresh_tokens": 0, "reset_tokens": 0, "reset_requests": 0}
    assert await session_ids(services) == {open_session, ended_lately}
    assert await reset_ids(services) == kept_resets


@pytest.mark.usefixtures("clean")
async def test_an_empty_database_purges_nothing(services: Services) -> None:
    counts = await purge_expired_auth(ctx(services))
    assert counts == {"sessions": 0, "refresh_tokens": 0, "reset_tokens": 0, "reset_requests": 0}


@pytest.mark.usefixtures("clean")
async def test_purges_reset_requests_processed_long_ago_and_keeps_pending_ones(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    old = now - KEEP_PROCESSED_RESET_REQUESTS - HOUR
    async with services.sessions() as session:
        session.add_all(
            [
                PasswordResetRequest(email="gone@example.com", created_at=old, processed_at=old),
                PasswordResetRequest(email="recent@example.com", processed_at=now - HOUR),
                # Never processed (its job is lost): the sweep still needs it, however old.
                PasswordResetRequest(email="pending@example.com", created_at=old),
            ]
        )
        await session.commit()

    counts = await purge_expired_auth(ctx(services))

    assert counts["reset_requests"] == 1
    async with services.sessions() as session:
        left = set((await session.execute(select(PasswordResetRequest.email))).scalars())
    assert left == {"recent@example.com", "pending@example.com"}


@pytest.mark.usefixtures("clean")
async def test_purges_checkout_keys_past_their_day(services: Services) -> None:
    customer = await add_user(services, "buyer")
    now = datetime.now(UTC)
    async with services.sessions() as session:
        for key, age in (("old", IDEMPOTENCY_KEY_LIFETIME + HOUR), ("new", HOUR)):
            created = now - age
            session.add(
                IdempotencyKey(customer_id=customer.id, key=key, cart_hash="x", created_at=created)
            )
        await session.commit()
    assert await purge_expired_idempotency_keys(ctx(services)) == 1
    async with services.sessions() as session:
        left = (await session.execute(select(IdempotencyKey.key))).scalars().all()
    assert left == ["new"]
