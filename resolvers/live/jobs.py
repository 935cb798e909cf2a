"""`jobUpdated`: a job's state now, then every change of it, for whoever may see the job.

Who may see a job is `resolvers.jobs.queries.job_for_viewer`'s decision (staff), the same as
for the `job` query. A job that does not exist or that the viewer may not see gives one
`null` (as `job(id)` does) and the subscription completes. Otherwise it streams until the
client stops: a finished job can be retried, and that is a change too. The runner announces
progress at most a few times a second (workers/jobs/runner.py), and every state change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable, Sequence

from db.jobs import Job
from resolvers.context import Context
from resolvers.ids import key_of
from resolvers.jobs.queries import job_for_viewer, may_see_jobs
from resolvers.live.streams import follow
from workers.events import JOBS_CHANNEL


def _everything(job: Job) -> Hashable:
    # Every field a client of `Job` can see change; not the heartbeat (the worker's own).
    return (
        job.status,
        job.progress_done,
        job.progress_total,
        job.attempts,
        job.created_count,
        job.updated_count,
        job.unchanged_count,
        job.failed_count,
        job.started_at,
        job.finished_at,
        job.failure_reason,
        job.cancel_requested,
        job.result_file_id,
        job.error_report_file_id,
    )


async def follow_job(ctx: Context, job_id: str) -> AsyncIterator[Job | None]:
    key = key_of(job_id, "Job")
    ctx.user  # noqa: B018  (a bad token is UNAUTHENTICATED, not "no job")

    async def read(wanted: Sequence[int]) -> dict[int, Job]:
        ctx.loaders.clear()  # fields below the job read the state of this event
        job = await job_for_viewer(ctx.readers, ctx.viewer, wanted[0])
        return {job.id: job} if job is not None else {}

    if key is None or not may_see_jobs(ctx.viewer) or not await read([key]):
        yield None
        return
    async for job in follow(ctx.services.feed, JOBS_CHANNEL, [key], read, _everything):
        yield job
