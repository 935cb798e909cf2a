"""The orders lists are read in: each a keyset ordering ending in the unique id, declared once.

Lists, nested connections (`resolvers.loaders`) and cursors all read these, so a page and the
page after it agree on where one stops and the next starts.
"""

from __future__ import annotations

from db.catalog import Category, Product
from db.jobs import Job, JobError
from db.reviews import Review
from db.users import User
from resolvers.pagination import SortKey, datetime_key

NEWEST_REVIEWS: list[SortKey[Review]] = [
    datetime_key(Review.created_at, lambda r: r.created_at, descending=True),
    SortKey(Review.id, lambda r: r.id, descending=True),
]
# The moderation queue: first come, first served.
OLDEST_REVIEWS: list[SortKey[Review]] = [
    datetime_key(Review.created_at, lambda r: r.created_at),
    SortKey(Review.id, lambda r: r.id),
]
NEWEST_PRODUCTS: list[SortKey[Product]] = [
    datetime_key(Product.created_at, lambda p: p.created_at, descending=True),
    SortKey(Product.id, lambda p: p.id, descending=True),
]
CATEGORIES_BY_NAME: list[SortKey[Category]] = [
    SortKey(Category.name, lambda c: c.name),
    SortKey(Category.id, lambda c: c.id),
]
OLDEST_USERS: list[SortKey[User]] = [SortKey(User.id, lambda user: user.id)]
NEWEST_JOBS: list[SortKey[Job]] = [SortKey(Job.id, lambda job: job.id, descending=True)]
JOB_ERRORS_IN_ORDER: list[SortKey[JobError]] = [SortKey(JobError.id, lambda error: error.id)]
