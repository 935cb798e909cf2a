"""exportProducts: validate the filter as the product listing does, then start an export job."""

from __future__ import annotations

from db.jobs import Job, JobKind
from db.users import User
from resolvers.catalog.queries import ProductFilterData, filter_conditions, product_conditions
from resolvers.context import Context
from resolvers.jobs.create import create_job, enqueue_jobs
from workers.exports.products import export_params


async def start_product_export(
    ctx: Context, user: User, data: ProductFilterData, file_format: str
) -> Job:
    # The listing's own checks (price range, rating, ids): BAD_USER_INPUT before any job.
    filter_conditions(user.role.is_staff, data)
    params = export_params(file_format, product_conditions(data), data.search)
    async with ctx.writer() as session:
        job = await create_job(
            session,
            JobKind.EXPORT_PRODUCTS,
            params,
            None,
            user.id,
            max_attempts=ctx.config.job_max_attempts,
        )
        await session.commit()
    await enqueue_jobs(ctx.services, [job.id])
    return job
