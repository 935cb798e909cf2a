"""Retention: stored files (uploads, exports, error reports) are kept FILE_RETENTION_DAYS.

A daily cron job deletes older files with their chunks; jobs keep their rows (their history)
and lose the link (`result_file_id` etc. become null: `resultUrl` is then null). A file still
used by a job that has not ended (an import's input queued for long) is kept until it ends.
Deleted in batches, each its own transaction, so a large purge never holds long locks.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select

from db.files import StoredFile
from db.jobs import Job, JobStatus
from db.session import SessionFactory

logger = logging.getLogger("catalog.jobs.retention")

DEFAULT_RETENTION = timedelta(days=7)
BATCH = 200

_UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


async def purge_old_files(ctx: dict[str, Any]) -> int:
    sessions: SessionFactory = ctx["sessions"]
    retention: timedelta = ctx.get("file_retention") or DEFAULT_RETENTION
    cutoff = datetime.now(UTC) - retention
    in_use = exists().where(
        Job.status.in_(_UNFINISHED),
        or_(
            Job.input_file_id == StoredFile.id,
            Job.result_file_id == StoredFile.id,
            Job.error_report_file_id == StoredFile.id,
        ),
    )
    purged = 0
    while True:
        async with sessions() as session, session.begin():
            ids = (
                (
                    await session.execute(
                        select(StoredFile.id)
                        .where(StoredFile.created_at < cutoff, ~in_use)
                        .order_by(StoredFile.id)
                        .limit(BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            if ids:
                await session.execute(delete(StoredFile).where(StoredFile.id.in_(ids)))
        purged += len(ids)
        if len(ids) < BATCH:
            break
    if purged:
        logger.info("purged %s stored file(s) older than %s", purged, retention)
    return purged
