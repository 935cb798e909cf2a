"""The job outbox: a job row is committed with `enqueue_pending`, then handed to arq.

Whoever commits a job (a request, a retry, the runner after a transient fault) calls
`dispatch_jobs` after the commit; it enqueues `run_job(job_id)` under the arq job id
`run_job:<id>:<attempt>` (so enqueueing the same attempt twice is harmless) and clears the
mark. When Redis is away the mark stays, and `sweep_jobs` (a cron job of the worker)
enqueues it later. The sweep also hands running jobs whose lease expired (their worker died)
back to the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from db.jobs import Job, JobStatus
from db.session import SessionFactory
from workers.events import publish_jobs_changed
from workers.jobs.policy import JobPolicy

logger = logging.getLogger("catalog.jobs.outbox")

RUN_JOB = "run_job"


def run_job_id(job_id: int, attempt: int) -> str:
    return f"{RUN_JOB}:{job_id}:{attempt}"


async def dispatch_jobs(redis: ArqRedis, sessions: SessionFactory, job_ids: Iterable[int]) -> int:
    """Enqueue committed jobs marked `enqueue_pending`; how many were handed to arq. Never
    raises: what could not be enqueued keeps its mark for the sweep."""
    ids = sorted(set(job_ids))
    if not ids:
        return 0
    try:
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Job.id, Job.attempts, Job.run_after).where(
                        Job.id.in_(ids), Job.enqueue_pending, Job.status == JobStatus.QUEUED
                    )
                )
            ).all()
    except (OperationalError, DBAPIError, OSError):
        logger.warning("could not read jobs %s to enqueue; the sweep will", ids)
        return 0
    handed: list[tuple[int, int]] = []
    for job_id, attempts, run_after in rows:
        try:
            await redis.enqueue_job(
                RUN_JOB,
                job_id,
                _job_id=run_job_id(job_id, attempts + 1),
                _defer_until=run_after,
            )
        except (RedisError, OSError, TimeoutError):
            logger.warning("could not enqueue job %s; the job sweep will retry", job_id)
            continue
        handed.append((job_id, attempts))
    if handed:
        try:
            async with sessions() as session, session.begin():
                for job_id, attempts in handed:
                    # Only if no other attempt started meanwhile: a new mark stays.
                    await session.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.attempts == attempts)
                        .values(enqueue_pending=False)
                    )
        except (OperationalError, DBAPIError, OSError):
            # The sweep enqueues them again under the same arq ids: refused as duplicates.
            logger.warning("could not clear the enqueue marks of jobs %s", handed)
    return len(handed)


async def sweep_jobs(ctx: dict[str, Any]) -> dict[str, int]:
    """Take over jobs whose worker died (lease expired) and enqueue every marked job."""
    sessions: SessionFactory = ctx["sessions"]
    policy: JobPolicy = ctx.get("job_policy") or JobPolicy()
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        expired = (
            (
                await session.execute(
                    update(Job)
                    .where(
                        Job.status == JobStatus.RUNNING,
                        or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < now - policy.lease),
                    )
                    .values(
                        status=JobStatus.QUEUED,
                        lease_token=None,
                        enqueue_pending=True,
                        run_after=None,
                        failure_reason="the worker running it stopped; resumed by another",
                    )
                    .returning(Job.id)
                )
            )
            .scalars()
            .all()
        )
    async with sessions() as session:
        pending = (
            (
                await session.execute(
                    select(Job.id)
                    .where(
                        Job.enqueue_pending,
                        Job.status == JobStatus.QUEUED,
                        or_(Job.run_after.is_(None), and_(Job.run_after <= now)),
                    )
                    .order_by(Job.id)
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
    if expired:
        logger.warning("jobs %s lost their worker; handing them to another", list(expired))
        await publish_jobs_changed(ctx["redis"], expired)
    enqueued = await dispatch_jobs(ctx["redis"], sessions, pending)
    if enqueued:
        logger.info("job sweep enqueued %s job(s)", enqueued)
    return {"taken_over": len(expired), "enqueued": enqueued}
