"""Reading jobs: only staff see jobs (all of them); anyone else sees none.

`job_for_viewer` is the one lookup every reader uses (the `job` query, `node`, and the
`jobUpdated` subscription), so who may see a job is decided here only.
"""

from __future__ import annotations

from sqlalchemy import select

from db.jobs import Job
from db.session import SessionFactory
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
