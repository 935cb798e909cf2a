"""Email jobs: deliver one outbox row, and sweep rows whose job was lost."""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry
from sqlalchemy import select

from db.emails import EmailStatus, OutboxEmail
from db.session import SessionFactory
from workers.mailer import Mailer
from workers.outbox import dispatch_emails

logger = logging.getLogger("catalog.jobs.emails")

# Delivery attempts per email (arq's tries of the job, too: see workers.settings).
MAX_ATTEMPTS = 5
SWEEP_AFTER = timedelta(seconds=30)


async def send_email(ctx: dict[str, Any], email_id: int) -> str:
    """Deliver one email. Safe to run twice: a row is sent at most once, under a row lock."""
    sessions: SessionFactory = ctx["sessions"]
    mailer: Mailer = ctx["mailer"]
    async with sessions() as session, session.begin():
        email = await session.get(
            OutboxEmail, email_id, with_for_update={"skip_locked": True}, populate_existing=True
        )
        if email is None:
            return "missing or being sent by another worker"
        if email.status is not EmailStatus.PENDING:
            return f"already {email.status.value}"
        email.attempts += 1
        try:
            await mailer.send(email)
        except (OSError, smtplib.SMTPException) as error:
            email.last_error = f"{type(error).__name__}: {error}"[:1000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = EmailStatus.FAILED
                logger.error("email %s failed for good after %s attempts", email_id, email.attempts)
                return "failed"
            failed_attempts = email.attempts
        else:
            email.status = EmailStatus.SENT
            email.sent_at = datetime.now(UTC)
            email.transport = mailer.name
            return "sent"
    # Outside the transaction, so the attempt count is committed before arq retries.
    raise Retry(defer=timedelta(seconds=10 * 2**failed_attempts))


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Re-enqueue pending emails older than a moment: their job was lost (Redis outage, crash)."""
    sessions: SessionFactory = ctx["sessions"]
    cutoff = datetime.now(UTC) - SWEEP_AFTER
    async with sessions() as session:
        ids = (
            (
                await session.execute(
                    select(OutboxEmail.id)
                    .where(
                        OutboxEmail.status == EmailStatus.PENDING, OutboxEmail.created_at < cutoff
                    )
                    .order_by(OutboxEmail.id)
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
    if ids:
        await dispatch_emails(ctx["redis"], ids)
        logger.info("outbox sweep re-enqueued %s email(s)", len(ids))
    return len(ids)
