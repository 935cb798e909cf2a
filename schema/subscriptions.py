"""The Subscription type: live updates over graphql-transport-ws (served by app/subscriptions.py).

Each subscription first sends the current state of what it follows, then every change that
matters (see resolvers/live/). Objects the subscriber may not see are never sent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from db.catalog import Product
from db.jobs import Job
from resolvers.context import Info
from resolvers.live.jobs import follow_job
from resolvers.live.products import MAX_FOLLOWED_PRODUCTS, follow_products
from resolvers.prefetch import prefetch_object
from schema.catalog import ProductType
from schema.jobs import JobType


@strawberry.type
class Subscription:
    @strawberry.subscription(
        graphql_type=ProductType | None,
        description=(
            "The products' current state, then each change of their price, stock or status. "
            "The public follows published products only; staff follow any. At most "
            f"{MAX_FOLLOWED_PRODUCTS} ids."
        ),
    )
    async def product_updated(
        self, info: Info, ids: list[strawberry.ID]
    ) -> AsyncGenerator[Product, None]:
        async for product in follow_products(info.context, ids):
            await prefetch_object(info, product, "Product")
            yield product

    @strawberry.subscription(
        graphql_type=JobType | None,
        description=(
            "The job's current state, then every change (progress at most a few times a "
            "second, then its final state) until you stop. Staff only: for anyone else, or a "
            "job that does not exist, one null and the end."
        ),
    )
    async def job_updated(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Job | None, None]:
        async for job in follow_job(info.context, id):
            yield job
