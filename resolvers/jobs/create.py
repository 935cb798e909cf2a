"""Creating a job: the row and its "to enqueue" mark in the caller's transaction.

Used by every mutation that starts a job (exportProducts, importProducts):

    async with info.context.writer() as session:
        job = await create_job(session, JobKind.EXPORT_PRODUCTS, params, None, user.id)
        await session.commit()
    await enqueue_jobs(info.context.services, [job.id])

A job exists exactly when the caller's transaction commits; `enqueue_jobs` hands it to the
worker afterwards (or leaves it to the worker's sweep when Redis is away).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.jobs import Job, JobKind, JobStatus
from resolvers.context import Services
from workers.events import publish_jobs_changed
from workers.jobs.outbox import dispatch_jobs


async def create_job(
    session: AsyncSession,
    kind: JobKind,
    params: dict[str, Any],
    input_file_id: int | None,
    created_by: int | None,
    *,
    max_attempts: int | None = None,
) -> Job:
    """A QUEUED job marked for enqueueing, flushed (it has its id); the caller commits."""
    job = Job(
        kind=kind,
        status=JobStatus.QUEUED,
        params=params,
        input_file_id=input_file_id,
        created_by_id=created_by,
        enqueue_pending=True,
        attempts=0,
        progress_done=0,
        cancel_requested=False,
    )
    if max_attempts is not None:
        job.max_attempts = max_attempts
    session.add(job)
    await session.flush()
    return job


async def enqueue_jobs(services: Services, job_ids: Iterable[int]) -> None:
    """After the commit: hand the jobs to the worker and announce them. Never raises."""
    ids = list(job_ids)
    await dispatch_jobs(services.redis, services.sessions, ids)
    await publish_jobs_changed(services.redis, ids)
