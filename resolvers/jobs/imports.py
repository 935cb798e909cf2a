"""importProducts: store the uploaded file and start an import job with it, in one transaction.

The job (`workers.imports.job`) does the rest in the worker: a file that is not CSV or XLSX,
or a row with problems, is reported on the job (its errors, its error report), never as an
error of this mutation.
"""

from __future__ import annotations

from db.jobs import Job, JobKind
from db.users import User
from resolvers.context import Context
from resolvers.jobs.create import create_job, enqueue_jobs
from resolvers.jobs.uploads import Upload, save_upload
from workers.imports.job import import_params


async def start_product_import(
    ctx: Context, user: User, upload: Upload, *, dry_run: bool, skip_rows: bool
) -> Job:
    params = import_params(
        dry_run=dry_run, skip_rows=skip_rows, max_rows=ctx.config.max_import_rows
    )
    async with ctx.writer() as session:
        file_id = await save_upload(upload, user.id, session, ctx.services.files)
        job = await create_job(
            session,
            JobKind.IMPORT_PRODUCTS,
            params,
            file_id,
            user.id,
            max_attempts=ctx.config.job_max_attempts,
        )
        await session.commit()
    await enqueue_jobs(ctx.services, [job.id])
    return job
