"""What a job handler gets: `JobRun`, the job's inputs and how to report, and the exceptions
that end a run (see `workers.jobs.runner` for how they end the job).

Every write goes through the run's lease token: a run that lost its lease (presumed dead, its
job taken over) raises `LeaseLost` on its next write instead of overwriting the new run's work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.jobs import Job, JobError, JobKind, JobStatus
from db.session import SessionFactory
from workers.events import publish_jobs_changed
from workers.files import FileStore
from workers.jobs.policy import JobPolicy


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
        """Write to the job's row (which locks it); also learns of a cancel request."""
        result = await session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.lease_token == self.lease_token)
            .values(**values)
            .returning(Job.cancel_requested)
        )
        row = result.first()
        if row is None:
            raise LeaseLost(f"job {self.job_id} is held by another run")
        if row[0]:
            self.cancel_requested = True

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
        # The write locks the job's row, so a cancelJob either committed before it (seen
        # here: the end, and with `session` the work, roll back; the job ends CANCELLED) or
        # waits for this commit and finds the job ended: an accepted cancel always wins.
        if session is not None:
            await self._write(session, **values)
            self.raise_if_cancelled()
        else:
            async with self.sessions() as own, own.begin():
                await self._write(own, **values)
                self.raise_if_cancelled()
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
