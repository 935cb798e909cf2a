"""Reading jobs: only staff see jobs (all of them); anyone else sees none.

`job_for_viewer` is the one lookup every reader uses (the `job` query, `node`, and the
`jobUpdated` subscription), so who may see a job is decided here only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, select

from db.jobs import Job, JobError, JobKind, JobStatus
from db.session import SessionFactory
from resolvers.context import Context
from resolvers.ids import key_of
from resolvers.orderings import JOB_ERRORS_IN_ORDER, NEWEST_JOBS
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.viewer import Viewer


def may_see_jobs(viewer: Viewer) -> bool:
    return viewer.is_staff


async def job_for_viewer(readers: SessionFactory, viewer: Viewer, job_id: int) -> Job | None:
    """The job, if it exists and the viewer may see it; None otherwise."""
    if not may_see_jobs(viewer):
        return None
    async with readers() as session:
        job: Job | None = (
            await session.execute(select(Job).where(Job.id == job_id))
        ).scalar_one_or_none()
        return job


async def job_by_global_id(ctx: Context, global_id: str) -> Job | None:
    """The `job(id)` query: null for an id of another type, a missing job, or a non-staff
    caller (who may see no job); BAD_USER_INPUT for a value that is not an id."""
    key = key_of(global_id, "Job")
    if key is None:
        return None
    ctx.user  # noqa: B018  (a bad token is UNAUTHENTICATED, not "no job")
    return await job_for_viewer(ctx.readers, ctx.viewer, key)


@dataclass(frozen=True)
class JobFilterData:
    kind: JobKind | None = None
    status: JobStatus | None = None


async def list_jobs(ctx: Context, args: PageArgs, data: JobFilterData) -> Page[Job]:
    """Newest first. Staff see every job; anyone else an empty list."""
    ctx.user  # noqa: B018  (a bad token is UNAUTHENTICATED)
    statement = select(Job)
    if not may_see_jobs(ctx.viewer):
        statement = statement.where(false())
    if data.kind is not None:
        statement = statement.where(Job.kind == data.kind)
    if data.status is not None:
        statement = statement.where(Job.status == data.status)
    return await paginate(ctx.readers, statement, NEWEST_JOBS, args)


async def job_errors(ctx: Context, job_id: int, args: PageArgs) -> Page[JobError]:
    """A job's errors in the order found (the caller has the job, so may see them)."""
    statement = select(JobError).where(JobError.job_id == job_id)
    return await paginate(ctx.readers, statement, JOB_ERRORS_IN_ORDER, args)
