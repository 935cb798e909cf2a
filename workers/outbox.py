"""The request side of email delivery: write an outbox row, then hand its id to the worker.

The row is written in the caller's transaction, so an email exists exactly when the change
that promised it was committed. Enqueueing happens after the commit and may fail (Redis down):
the worker's sweep picks up any pending row whose job was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from db.emails import OutboxEmail

logger = logging.getLogger("catalog.outbox")

SEND_EMAIL = "send_email"


def send_email_job_id(email_id: int) -> str:
    # A fixed job id makes enqueueing idempotent: arq refuses a second job with the same id.
    return f"{SEND_EMAIL}:{email_id}"


async def add_email(
    session: AsyncSession, *, kind: str, to: str, subject: str, body: str
) -> OutboxEmail:
    email = OutboxEmail(kind=kind, to_address=to, subject=subject, body=body)
    session.add(email)
    await session.flush()
    return email


async def dispatch_emails(queue: ArqRedis, email_ids: Iterable[int]) -> None:
    """Enqueue delivery jobs for committed outbox rows; never raises."""
    for email_id in email_ids:
        try:
            await queue.enqueue_job(SEND_EMAIL, email_id, _job_id=send_email_job_id(email_id))
        except (RedisError, OSError, TimeoutError):
            logger.warning("could not enqueue email %s; the outbox sweep will retry", email_id)
