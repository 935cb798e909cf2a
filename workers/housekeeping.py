"""Housekeeping: drop what has expired, so auth tables and checkout keys do not grow forever."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_

from db.orders import IDEMPOTENCY_KEY_LIFETIME, IdempotencyKey
from db.session import SessionFactory
from db.users import AuthSession, PasswordResetRequest, PasswordResetToken, RefreshToken

logger = logging.getLogger("catalog.jobs.housekeeping")

KEEP_ENDED_SESSIONS = timedelta(days=7)
# Processed reset requests name addresses that may have no account: keep them briefly.
KEEP_PROCESSED_RESET_REQUESTS = timedelta(days=1)


async def purge_expired_auth(ctx: dict[str, Any]) -> dict[str, int]:
    sessions: SessionFactory = ctx["sessions"]
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        ended = await session.execute(
            delete(AuthSession).where(
                or_(
                    AuthSession.expires_at < now - KEEP_ENDED_SESSIONS,
                    AuthSession.revoked_at < now - KEEP_ENDED_SESSIONS,
                )
            )
        )
        tokens = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
        resets = await session.execute(
            delete(PasswordResetToken).where(PasswordResetToken.expires_at < now)
        )
        requests = await session.execute(
            delete(PasswordResetRequest).where(
                PasswordResetRequest.processed_at < now - KEEP_PROCESSED_RESET_REQUESTS
            )
        )
    counts = {
        "sessions": ended.rowcount,  # type: ignore[attr-defined]
        "refresh_tokens": tokens.rowcount,  # type: ignore[attr-defined]
        "reset_tokens": resets.rowcount,  # type: ignore[attr-defined]
        "reset_requests": requests.rowcount,  # type: ignore[attr-defined]
    }
    logger.info("purged expired auth rows: %s", counts)
    return counts


async def purge_expired_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Drop checkout keys past their lifetime (their orders stay)."""
    sessions: SessionFactory = ctx["sessions"]
    cutoff = datetime.now(UTC) - IDEMPOTENCY_KEY_LIFETIME
    async with sessions() as session, session.begin():
        result = await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
        )
    count: int = result.rowcount  # type: ignore[attr-defined]
    logger.info("purged %s expired idempotency key(s)", count)
    return count
