"""The job runner: one arq function runs every kind of job through its handler.

`run_job(ctx, job_id)` claims the job (a lease: `lease_token` + `heartbeat_at`), runs the
handler registered for its kind in `HANDLERS` with a `JobRun`, and records how it ended:

- the handler calls `run.finish(...)` → SUCCEEDED (the runner finishes it if it returns
  without doing so);
- `run.fail(reason)` → FAILED at once (a bad file: not worth retrying);
- `run.raise_if_cancelled()` after `cancelJob` → CANCELLED;
- a transient fault (database or Redis unreachable) → QUEUED again after a backoff, until
  `max_attempts` runs, then FAILED with a reason a person can read;
- any other exception → FAILED ("internal error"; the worker log has the traceback).

While the handler runs, a heartbeat renews the lease and notices cancel requests. A worker
that dies stops renewing; `sweep_jobs` hands the job to another worker, whose handler starts
from the last `save_checkpoint` state. A run that finds its lease taken (it was too slow to
renew) stops without writing anything more. Every committed change of a job is published with
`publish_jobs_changed` (progress at most every `progress_interval`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from db.jobs import Job, JobKind, JobStatus
from db.session import SessionFactory
from workers.events import publish_jobs_changed
from workers.jobs.outbox import dispatch_jobs
from workers.jobs.policy import JobPolicy
from workers.jobs.run import ErrorRow, JobCancelled, JobFailed, JobRun, LeaseLost, Summary

logger = logging.getLogger("catalog.jobs.runner")

# Faults of the environment, not of the job: worth another attempt later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    RedisError,
    ConnectionError,
    OSError,
    TimeoutError,
)


# Re-exported: handlers import what they need from here (the contract in docs/jobs.md).
__all__ = [
    "HANDLERS",
    "TRANSIENT_ERRORS",
    "ErrorRow",
    "Handler",
    "JobCancelled",
    "JobFailed",
    "JobRun",
    "LeaseLost",
    "Summary",
    "register",
    "run_job",
]

Handler = Callable[[JobRun], Awaitable[None]]

# Filled by the modules that implement each kind (workers.settings imports them).
HANDLERS: dict[JobKind, Handler] = {}


def register(kind: JobKind) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return decorate


def describe_fault(error: BaseException) -> str:
    """A sentence a person can read about a transient fault (no SQL, no internals)."""
    if isinstance(error, RedisError):
        return "the queue (Redis) was unreachable"
    if isinstance(error, OperationalError | InterfaceError | DBAPIError):
        return "the database was unreachable"
    if isinstance(error, TimeoutError):
        return "an operation timed out"
    return "a connection failed"


async def _claim(ctx: dict[str, Any], job_id: int, policy: JobPolicy) -> JobRun | None:
    sessions: SessionFactory = ctx["sessions"]
    now = datetime.now(UTC)
    token = secrets.token_hex(16)
    async with sessions() as session, session.begin():
        job = (
            await session.execute(
                select(Job).where(Job.id == job_id).with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if job is None or job.status.is_final:
            return None
        if (
            job.status is JobStatus.RUNNING
            and job.heartbeat_at is not None
            and job.heartbeat_at > now - policy.lease
        ):
            return None  # another worker holds it
        if job.cancel_requested:
            job.status = JobStatus.CANCELLED
            job.finished_at = now
            job.lease_token = None
            runnable = False
        elif job.attempts >= job.max_attempts:
            job.status = JobStatus.FAILED
            job.finished_at = now
            job.lease_token = None
            job.failure_reason = (
                f"gave up after {job.attempts} attempts; last: {job.failure_reason or 'unknown'}"
            )
            runnable = False
        else:
            runnable = True
            job.status = JobStatus.RUNNING
            job.attempts += 1
            job.started_at = job.started_at or now
            job.heartbeat_at = now
            job.lease_token = token
            job.enqueue_pending = False
            job.run_after = None
        run = JobRun(
            job_id=job.id,
            kind=job.kind,
            params=dict(job.params or {}),
            checkpoint=job.checkpoint,
            input_file_id=job.input_file_id,
            created_by_id=job.created_by_id,
            attempt=job.attempts,
            sessions=sessions,
            files=ctx["files"],
            redis=ctx["redis"],
            policy=policy,
            lease_token=token,
        )
    await publish_jobs_changed(ctx["redis"], [job_id])
    return run if runnable else None


async def _heartbeat(run: JobRun) -> None:
    """Renew the lease and look for a cancel request, until cancelled by the runner."""
    interval = run.policy.heartbeat.total_seconds()
    while True:
        await asyncio.sleep(interval)
        try:
            async with run.sessions() as session, session.begin():
                result = await session.execute(
                    update(Job)
                    .where(Job.id == run.job_id, Job.lease_token == run.lease_token)
                    .values(heartbeat_at=datetime.now(UTC))
                    .returning(Job.cancel_requested)
                )
                row = result.first()
        except TRANSIENT_ERRORS as error:
            logger.warning("job %s: heartbeat failed (%s)", run.job_id, describe_fault(error))
            continue
        if row is None:
            logger.warning("job %s: lease lost to another run", run.job_id)
            return
        if row[0]:
            run.cancel_requested = True


async def _end(run: JobRun, **values: Any) -> None:
    """Record how the run ended, if it still holds the job (best effort for the sweep)."""
    try:
        await run._commit(lease_token=None, **values)
    except LeaseLost:
        logger.info("job %s: not recording the end, another run holds it", run.job_id)


async def _release(run: JobRun) -> None:
    await _end(
        run,
        status=JobStatus.QUEUED,
        enqueue_pending=True,
        run_after=None,
        failure_reason="the worker running it stopped; resumed by another",
    )


async def run_job(ctx: dict[str, Any], job_id: int) -> str:
    """The arq function behind every job (enqueued as `run_job:<id>:<attempt>`)."""
    policy: JobPolicy = ctx.get("job_policy") or JobPolicy()
    run = await _claim(ctx, job_id, policy)
    if run is None:
        return "not runnable"
    handler = HANDLERS.get(run.kind)
    heartbeat = asyncio.create_task(_heartbeat(run))
    try:
        if handler is None:
            await run.fail(f"no handler for jobs of kind {run.kind.value}")
        else:
            await handler(run)
        if not run.finished:
            await run.finish()
        else:
            await publish_jobs_changed(run.redis, [run.job_id])
        return "succeeded"
    except JobFailed:
        return "failed"
    except LeaseLost:
        logger.warning("job %s: stopped, another run holds it", job_id)
        return "lease lost"
    except JobCancelled:
        await _end(run, status=JobStatus.CANCELLED, finished_at=datetime.now(UTC))
        return "cancelled"
    except TRANSIENT_ERRORS as error:
        reason = describe_fault(error)
        logger.warning("job %s attempt %s: %s (%r)", job_id, run.attempt, reason, error)
        return await _after_fault(ctx, run, reason)
    except asyncio.CancelledError:
        # The worker is shutting down (or lost Redis): hand the job back at once, for any
        # worker's sweep to resume from its checkpoint, rather than after the lease. If even
        # that fails, the lease expires and the sweep hands it on all the same.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(_release(run), 5)
        raise
    except Exception:
        logger.exception("job %s failed with an unexpected error", job_id)
        await _end(
            run,
            status=JobStatus.FAILED,
            finished_at=datetime.now(UTC),
            failure_reason="internal error while running the job (see the worker log)",
        )
        return "failed"
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat


async def _after_fault(ctx: dict[str, Any], run: JobRun, reason: str) -> str:
    """Queue another attempt after a backoff, or give up after `max_attempts`."""
    now = datetime.now(UTC)
    try:
        async with run.sessions() as session, session.begin():
            max_attempts = (
                await session.execute(select(Job.max_attempts).where(Job.id == run.job_id))
            ).scalar_one()
            if run.attempt >= max_attempts:
                await run._write(
                    session,
                    status=JobStatus.FAILED,
                    finished_at=now,
                    lease_token=None,
                    failure_reason=f"gave up after {run.attempt} attempts: {reason}",
                )
                outcome = "failed"
            else:
                await run._write(
                    session,
                    status=JobStatus.QUEUED,
                    lease_token=None,
                    enqueue_pending=True,
                    run_after=now + run.policy.backoff(run.attempt),
                    failure_reason=f"attempt {run.attempt}: {reason}; will retry",
                )
                outcome = "retrying"
    except LeaseLost:
        return "lease lost"
    except TRANSIENT_ERRORS:
        # Cannot even record it: the lease expires and the sweep hands the job on.
        logger.warning("job %s: could not record the fault; the sweep will retry", run.job_id)
        return "fault unrecorded"
    await publish_jobs_changed(run.redis, [run.job_id])
    if outcome == "retrying":
        await dispatch_jobs(run.redis, run.sessions, [run.job_id])
    return outcome
