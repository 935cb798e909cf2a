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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from db.jobs import Job, JobError, JobKind, JobStatus
from db.session import SessionFactory
from workers.events import publish_jobs_changed
from workers.files import FileStore
from workers.jobs.outbox import dispatch_jobs
from workers.jobs.policy import JobPolicy

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


class JobCancelled(Exception):
    """Raised by `raise_if_cancelled` once someone asked to cancel the job."""


class JobFailed(Exception):
    """Raised by `fail`: the job is FAILED (already recorded), the handler unwinds."""


class LeaseLost(Exception):
    """Another run holds the job now (ours was presumed dead): stop, write nothing more."""


@dataclass(frozen=True)
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


ErrorRow = tuple[int | None, str | None, str, str]  # (row, column, code, message)


@dataclass
class JobRun:
    """What a handler gets: the job's inputs, its services, and how to report."""

    job_id: int
    kind: JobKind
    params: dict[str, Any]
    # The last state the handler saved with `save_checkpoint` (a takeover resumes from it).
    checkpoint: dict[str, Any] | None
    input_file_id: int | None
    created_by_id: int | None
    attempt: int
    sessions: SessionFactory
    files: FileStore
    redis: ArqRedis
    policy: JobPolicy
    lease_token: str
    cancel_requested: bool = False
    finished: bool = False
    _last_progress: float = field(default=0.0, repr=False)

    async def _write(self, session: AsyncSession, **values: Any) -> None:
        result = await session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.lease_token == self.lease_token)
            .values(**values)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise LeaseLost(f"job {self.job_id} is held by another run")

    async def _commit(self, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            await self._write(session, **values)
        await publish_jobs_changed(self.redis, [self.job_id])

    async def progress(self, done: int, total: int | None = None) -> None:
        """Report progress; written at most every `policy.progress_interval` (and when done)."""
        now = asyncio.get_running_loop().time()
        interval = self.policy.progress_interval.total_seconds()
        if now - self._last_progress < interval and done != total:
            return
        self._last_progress = now
        await self._commit(progress_done=done, progress_total=total, heartbeat_at=datetime.now(UTC))

    async def save_checkpoint(
        self, state: dict[str, Any], *, session: AsyncSession | None = None
    ) -> None:
        """Keep the handler's resume state; with `session`, in the caller's transaction."""
        if session is not None:
            await self._write(session, checkpoint=state)
        else:
            async with self.sessions() as own, own.begin():
                await self._write(own, checkpoint=state)
        self.checkpoint = state

    async def add_errors(
        self, errors: Sequence[ErrorRow], *, session: AsyncSession | None = None
    ) -> None:
        """Record problems of the input (row, column, code, message), in order."""
        if not errors:
            return
        rows = [
            {"job_id": self.job_id, "row": row, "column": column, "code": code, "message": msg}
            for row, column, code, msg in errors
        ]
        if session is not None:
            await session.execute(insert(JobError), rows)
            return
        async with self.sessions() as own, own.begin():
            await own.execute(insert(JobError), rows)

    async def finish(
        self,
        summary: Summary | None = None,
        *,
        result_file_id: int | None = None,
        error_report_file_id: int | None = None,
        session: AsyncSession | None = None,
    ) -> None:
        """SUCCEEDED. With `session`, written in the caller's transaction, so the job's end
        commits with the work (an import's changes); the runner publishes after the handler."""
        summary = summary or Summary()
        values: dict[str, Any] = {
            "status": JobStatus.SUCCEEDED,
            "finished_at": datetime.now(UTC),
            "created_count": summary.created,
            "updated_count": summary.updated,
            "unchanged_count": summary.unchanged,
            "failed_count": summary.failed,
            "result_file_id": result_file_id,
            "error_report_file_id": error_report_file_id,
            "lease_token": None,
            "failure_reason": None,
        }
        if session is not None:
            await self._write(session, **values)
        else:
            async with self.sessions() as own, own.begin():
                await self._write(own, **values)
        self.finished = True

    async def fail(
        self,
        reason: str,
        *,
        summary: Summary | None = None,
        error_report_file_id: int | None = None,
    ) -> None:
        """FAILED at once, not retried (a bad file); raises JobFailed to unwind the handler."""
        values: dict[str, Any] = {
            "status": JobStatus.FAILED,
            "finished_at": datetime.now(UTC),
            "failure_reason": reason[:2000],
            "error_report_file_id": error_report_file_id,
            "lease_token": None,
        }
        if summary is not None:
            values.update(
                created_count=summary.created,
                updated_count=summary.updated,
                unchanged_count=summary.unchanged,
                failed_count=summary.failed,
            )
        await self._commit(**values)
        self.finished = True
        raise JobFailed(reason)

    def raise_if_cancelled(self) -> None:
        if self.cancel_requested:
            raise JobCancelled(f"job {self.job_id} cancelled")


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
        # The worker is shutting down: the lease expires and the sweep hands the job on.
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
