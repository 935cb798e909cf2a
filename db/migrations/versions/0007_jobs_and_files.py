"""jobs and stored files: uploads, exports and imports as jobs a person can follow

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_KIND = postgresql.ENUM("import_products", "export_products", name="job_kind", create_type=False)
JOB_STATUS = postgresql.ENUM(
    "queued", "running", "succeeded", "failed", "cancelled", name="job_status", create_type=False
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    JOB_KIND.create(op.get_bind(), checkfirst=True)
    JOB_STATUS.create(op.get_bind(), checkfirst=True)
    op.create_table(
        "stored_files",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sha256", sa.String(length=64), server_default="", nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_stored_files_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
    )
    op.create_index("ix_stored_files_created_at", "stored_files", ["created_at"])
    op.create_index(op.f("ix_stored_files_created_by_id"), "stored_files", ["created_by_id"])
    op.create_table(
        "file_chunks",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_file_chunks_file_id_stored_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_file_chunks")),
    )
    # Uploads are mostly compressed already (XLSX) or cheap to store as they are: skip TOAST's
    # compression, which would cost CPU on every write and read of a chunk.
    op.execute("ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", JOB_KIND, nullable=False),
        sa.Column("status", JOB_STATUS, server_default="queued", nullable=False),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("progress_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="5", nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("checkpoint", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unchanged_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failed_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("input_file_id", sa.BigInteger(), nullable=True),
        sa.Column("result_file_id", sa.BigInteger(), nullable=True),
        sa.Column("error_report_file_id", sa.BigInteger(), nullable=True),
        sa.Column("enqueue_pending", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_jobs_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["input_file_id"],
            ["stored_files.id"],
            name=op.f("fk_jobs_input_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["result_file_id"],
            ["stored_files.id"],
            name=op.f("fk_jobs_result_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["error_report_file_id"],
            ["stored_files.id"],
            name=op.f("fk_jobs_error_report_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_created_by_id"), "jobs", ["created_by_id"])
    op.create_index("ix_jobs_enqueue_pending", "jobs", ["id"], postgresql_where="enqueue_pending")
    op.create_index(
        "ix_jobs_running_heartbeat",
        "jobs",
        ["heartbeat_at"],
        postgresql_where="status = 'running'",
    )
    op.create_index("ix_jobs_kind_status_id", "jobs", ["kind", "status", "id"])
    op.create_table(
        "job_errors",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("row", sa.BigInteger(), nullable=True),
        sa.Column("column", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_errors_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_errors")),
    )
    op.create_index("ix_job_errors_job_id_id", "job_errors", ["job_id", "id"])


def downgrade() -> None:
    op.drop_table("job_errors")
    op.drop_table("jobs")
    op.drop_table("file_chunks")
    op.drop_table("stored_files")
    JOB_STATUS.drop(op.get_bind(), checkfirst=True)
    JOB_KIND.drop(op.get_bind(), checkfirst=True)
