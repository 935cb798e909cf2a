"""The request side of email delivery: write an outbox row, then hand its id to the worker.

The row is written in the caller's transaction, so an email exists exactly when the change
that promised it was committed. Enqueueing happens after the commit and may fail (Redis down):
the worker's sweep picks up any pending row whose job was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from arq.connections import ArqRedis
from arq.constants import job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio.client import Pipeline
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


def queue_new_emails(pipe: Pipeline, queue: ArqRedis, email_ids: Iterable[int]) -> None:
    """Add delivery jobs for outbox rows committed a moment ago to `pipe`, a pipeline of
    `queue` the caller executes (catching Redis errors: the sweep retries those rows).

    The same jobs as `dispatch_emails`, without its round trips to check that no job exists
    yet: a new row has none (the sweep leaves rows alone for `SWEEP_AFTER`), NX keeps one that
    would, and delivering a row is safe to run twice anyway."""
    now = timestamp_ms()
    for email_id in email_ids:
        job_id = send_email_job_id(email_id)
        job = serialize_job(SEND_EMAIL, (email_id,), {}, None, now, serializer=queue.job_serializer)
        pipe.set(job_key_prefix + job_id, job, px=queue.expires_extra_ms, nx=True)
        pipe.zadd(queue.default_queue_name, {job_id: now}, nx=True)
