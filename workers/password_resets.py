"""Password-reset requests: recorded by the API, carried out by the worker.

The request does the same work whether or not the address has an account (one row, one
commit, one job), so its time says nothing about which accounts exist. The job looks the
account up, applies the hourly cap, issues the token and hands the email to the outbox. As
with the outbox: a request whose job was lost (Redis down, worker crash) is re-enqueued by a
sweep, and a job runs its request at most once, under a row lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.secrets import new_secret, secret_digest
from db.session import SessionFactory
from db.users import PasswordResetRequest, PasswordResetToken, User, by_email
from workers import templates
from workers.outbox import add_email, dispatch_emails

logger = logging.getLogger("catalog.jobs.password_resets")

PROCESS_PASSWORD_RESET = "process_password_reset"
SWEEP_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class ResetPolicy:
    """What the job needs from the configuration (the worker's `ctx["password_resets"]`)."""

    lifetime: timedelta
    per_hour: int
    public_url: str


# --- the request side -----------------------------------------------------------------------


def reset_job_id(request_id: int) -> str:
    # A fixed job id: enqueueing the same request twice makes one job.
    return f"{PROCESS_PASSWORD_RESET}:{request_id}"


async def record_reset_request(session: AsyncSession, email: str) -> PasswordResetRequest:
    """Add the request (a normalised email) to the caller's transaction."""
    request = PasswordResetRequest(email=email)
    session.add(request)
    await session.flush()
    return request


async def dispatch_reset_requests(queue: ArqRedis, request_ids: Iterable[int]) -> None:
    """Enqueue jobs for committed requests; never raises (the sweep retries)."""
    for request_id in request_ids:
        try:
            await queue.enqueue_job(
                PROCESS_PASSWORD_RESET, request_id, _job_id=reset_job_id(request_id)
            )
        except (RedisError, OSError, TimeoutError):
            logger.warning(
                "could not enqueue password reset request %s; the sweep will retry", request_id
            )


# --- the jobs -----------------------------------------------------------------------------


async def _issue_reset(
    session: AsyncSession, email: str, policy: ResetPolicy, now: datetime
) -> int | None:
    """The outbox id of a reset email for the address's active account, if it has one and is
    under the hourly cap (which keeps the endpoint from flooding an inbox)."""
    user = (
        await session.execute(
            # Locked: two workers serving requests for one account count the cap in turn.
            select(User).where(by_email(email), User.is_active).with_for_update()
        )
    ).scalar_one_or_none()
    if user is None:
        return None
    recent = await session.scalar(
        select(func.count()).where(
            PasswordResetToken.user_id == user.id,
            PasswordResetToken.created_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= policy.per_hour:
        return None
    token = new_secret()
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=secret_digest(token), expires_at=now + policy.lifetime
        )
    )
    text = templates.password_reset(user.name, token, policy.public_url, policy.lifetime)
    email_row = await add_email(
        session, kind=text.kind, to=user.email, subject=text.subject, body=text.body
    )
    return email_row.id


async def process_password_reset(ctx: dict[str, Any], request_id: int) -> str:
    """Carry out one request. Safe to run twice: a request is processed once, under a row lock.
    The result does not say whether an email went out (job results are kept in Redis)."""
    sessions: SessionFactory = ctx["sessions"]
    policy: ResetPolicy = ctx["password_resets"]
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        request = await session.get(
            PasswordResetRequest,
            request_id,
            with_for_update={"skip_locked": True},
            populate_existing=True,
        )
        if request is None:
            return "missing or being processed by another worker"
        if request.processed_at is not None:
            return "already processed"
        request.processed_at = now
        email_id = await _issue_reset(session, request.email, policy, now)
    if email_id is not None:
        await dispatch_emails(ctx["redis"], [email_id])
    return "processed"


async def sweep_password_resets(ctx: dict[str, Any]) -> int:
    """Re-enqueue requests older than a moment and still unprocessed: their job was lost."""
    sessions: SessionFactory = ctx["sessions"]
    cutoff = datetime.now(UTC) - SWEEP_AFTER
    async with sessions() as session:
        ids = (
            await session.scalars(
                select(PasswordResetRequest.id)
                .where(
                    PasswordResetRequest.processed_at.is_(None),
                    PasswordResetRequest.created_at < cutoff,
                )
                .order_by(PasswordResetRequest.id)
                .limit(500)
            )
        ).all()
    if ids:
        await dispatch_reset_requests(ctx["redis"], ids)
        logger.info("password reset sweep re-enqueued %s request(s)", len(ids))
    return len(ids)
