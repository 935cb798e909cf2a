"""Jobs: the truth about every long-running piece of work a person started (imports, exports).

A row is written with `enqueue_pending` set in the transaction that creates (or retries) the
job; after the commit the job is enqueued in arq and the mark cleared, and a sweep re-enqueues
marked rows whose enqueue was lost (see `workers.jobs.outbox`). The runner
(`workers.jobs.runner`) holds a lease on a running job (`heartbeat_at`), so the job of a killed
worker is taken over by another.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column
from db.global_ids import GlobalId


class JobKind(enum.StrEnum):
    IMPORT_PRODUCTS = "import_products"
    EXPORT_PRODUCTS = "export_products"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class Job(GlobalId, Base):
    node_type = "Job"
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_enqueue_pending", "id", postgresql_where="enqueue_pending"),
        Index("ix_jobs_running_heartbeat", "heartbeat_at", postgresql_where="status = 'running'"),
        Index("ix_jobs_kind_status_id", "kind", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind, "job_kind"))
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"),
        default=JobStatus.QUEUED,
        server_default=JobStatus.QUEUED.value,
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    # Runs started so far (a retry of a failed job and a takeover after a lost lease each count).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The lease: a running job whose heartbeat is older than the lease is taken over. The
    # token names the run holding it; a run that finds another token has lost the job.
    heartbeat_at: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(32))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Handler-owned resume state (e.g. rows processed); None before the first checkpoint.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    unchanged_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # A sentence a person can read; never a stack trace.
    failure_reason: Mapped[str | None] = mapped_column(Text)
    input_file_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("stored_files.id", ondelete="SET NULL")
    )
    result_file_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("stored_files.id", ondelete="SET NULL")
    )
    error_report_file_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("stored_files.id", ondelete="SET NULL")
    )
    # The transactional outbox mark: committed with the row, cleared once arq has the job.
    enqueue_pending: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # When the next attempt may run (a transient failure's backoff); None: at once.
    run_after: Mapped[datetime | None]


class JobError(Base):
    """One problem of a job's input (a row and column of an import), in the order found."""

    __tablename__ = "job_errors"
    __table_args__ = (Index("ix_job_errors_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"))
    # 1-based data row (the header is row 1 of a file; see docs/jobs.md); None: the whole file.
    row: Mapped[int | None] = mapped_column(BigInteger)
    column: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
