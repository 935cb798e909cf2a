"""cancelJob and retryJob (staff): a job's owner changes its course; the runner carries it out.

Cancelling a queued job ends it at once; a running one is asked to stop (`cancel_requested`)
and stops at its next check, within a heartbeat. Retrying a FAILED or CANCELLED job starts it
again from the beginning as a new attempt of the same job: its errors, progress, counts and
checkpoint are cleared, its attempt budget renewed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.jobs import Job, JobError, JobStatus
from resolvers.context import Context
from resolvers.errors import ErrorCode, not_found, user_error
from resolvers.ids import key_of
from resolvers.jobs.create import enqueue_jobs
from resolvers.jobs.queries import may_see_jobs
from resolvers.results import Outcome
from workers.events import publish_jobs_changed


async def _locked(session: AsyncSession, ctx: Context, global_id: str) -> Job | None:
    key = key_of(global_id, "Job")
    if key is None or not may_see_jobs(ctx.viewer):
        return None
    job: Job | None = (
        await session.execute(select(Job).where(Job.id == key).with_for_update())
    ).scalar_one_or_none()
    return job


async def cancel_job(ctx: Context, global_id: str) -> Outcome[Job]:
    async with ctx.writer() as session:
        job = await _locked(session, ctx, global_id)
        if job is None:
            return Outcome.refused(not_found("job"))
        if job.status.is_final:
            return Outcome.refused(
                user_error(
                    ErrorCode.JOB_FINISHED,
                    f"The job has already ended ({job.status.name}).",
                    "id",
                )
            )
        job.cancel_requested = True
        if job.status is JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.finished_at = datetime.now(UTC)
            job.enqueue_pending = False
        await session.commit()
    await publish_jobs_changed(ctx.services.redis, [job.id])
    return Outcome(job)


async def retry_job(ctx: Context, global_id: str) -> Outcome[Job]:
    async with ctx.writer() as session:
        job = await _locked(session, ctx, global_id)
        if job is None:
            return Outcome.refused(not_found("job"))
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            return Outcome.refused(
                user_error(
                    ErrorCode.JOB_NOT_RETRYABLE,
                    f"Only failed or cancelled jobs can be retried (this one is "
                    f"{job.status.name}).",
                    "id",
                )
            )
        await session.execute(delete(JobError).where(JobError.job_id == job.id))
        job.status = JobStatus.QUEUED
        job.cancel_requested = False
        job.enqueue_pending = True
        job.run_after = None
        job.checkpoint = None
        job.failure_reason = None
        job.finished_at = None
        job.started_at = None
        job.heartbeat_at = None
        job.lease_token = None
        job.progress_done = 0
        job.progress_total = None
        job.created_count = job.updated_count = job.unchanged_count = job.failed_count = 0
        job.result_file_id = None
        job.error_report_file_id = None
        job.max_attempts = job.attempts + ctx.config.job_max_attempts
        await session.commit()
    await enqueue_jobs(ctx.services, [job.id])
    return Outcome(job)
