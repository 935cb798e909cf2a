"""Jobs: the `Job` type, `job`/`jobs`, `exportProducts`, `cancelJob`, `retryJob`, `uploadFile`.

Staff only: anyone else sees no job (null, an empty list) and may start none (FORBIDDEN).
Resolvers are in `resolvers.jobs`; the runner that carries jobs out is `workers.jobs.runner`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry import Parent
from strawberry.file_uploads import Upload

from db.files import StoredFile
from db.jobs import Job, JobKind, JobStatus
from db.users import Role
from resolvers.context import Info
from resolvers.jobs import control, exports, queries, uploads
from resolvers.jobs.downloads import download_path
from resolvers.pagination import Page, PageArgs
from resolvers.results import Outcome
from schema.catalog_inputs import ProductFilter, filter_data
from schema.errors import UserErrorType
from schema.node import Node
from schema.permissions import IsStaff, require_role
from schema.relay import Connection, to_global_id
from schema.users import UserType

JobKindEnum = strawberry.enum(JobKind, name="JobKind", description="What a job does.")
JobStatusEnum = strawberry.enum(
    JobStatus,
    name="JobStatus",
    description="QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED (a FAILED or CANCELLED job "
    "can be retried: QUEUED again).",
)


class ExportFormatValue(enum.Enum):
    CSV = "csv"
    XLSX = "xlsx"


ExportFormat = strawberry.enum(
    ExportFormatValue, name="ExportFormat", description="The file format of an export."
)


@strawberry.type
class JobProgress:
    done: int
    total: int | None = strawberry.field(description="Null until the job has counted its work.")

    @strawberry.field(description="0 to 100; null while the total is unknown.")
    def percent(self) -> float | None:
        if self.total is None:
            return None
        if self.total == 0:
            return 100.0
        return round(min(self.done, self.total) * 100 / self.total, 1)


@strawberry.type
class JobSummary:
    created: int
    updated: int
    unchanged: int
    failed: int


@strawberry.type(name="JobError", description="One problem of a job's input file.")
class JobErrorType:
    row: int | None = strawberry.field(
        description="The data row (the first row after the header is 1); null: the whole file."
    )
    column: str | None
    code: str
    message: str


@strawberry.type(name="StoredFile", description="An uploaded or generated file.")
class StoredFileType:
    name: str
    size: int
    content_type: str

    @strawberry.field
    def id(self, root: Parent[StoredFile]) -> strawberry.ID:
        return to_global_id("StoredFile", root.id)


def _file_url(info: Info, file_id: int | None) -> str | None:
    if file_id is None:
        return None
    services = info.context.services
    path = download_path(services.signer.key, file_id, services.config.download_link_lifetime)
    return services.config.public_url.rstrip("/") + path


@strawberry.type(name="Job", description="A long-running piece of work (an import, an export).")
class JobType(Node):
    kind: JobKindEnum  # type: ignore[valid-type]
    status: JobStatusEnum  # type: ignore[valid-type]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = strawberry.field(description="Runs so far (retries and takeovers count).")
    failure_reason: str | None = strawberry.field(
        description="Why it failed (or why the last attempt did, while it is retried)."
    )
    cancel_requested: bool

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Job)

    @strawberry.field
    def progress(self, root: Parent[Job]) -> JobProgress:
        return JobProgress(done=root.progress_done, total=root.progress_total)

    @strawberry.field
    def summary(self, root: Parent[Job]) -> JobSummary:
        return JobSummary(
            created=root.created_count,
            updated=root.updated_count,
            unchanged=root.unchanged_count,
            failed=root.failed_count,
        )

    @strawberry.field
    async def created_by(self, root: Parent[Job], info: Info) -> UserType | None:
        if root.created_by_id is None:
            return None
        user: Any = await info.context.loaders.user_by_id.load(root.created_by_id)
        return user  # type: ignore[no-any-return]

    @strawberry.field(
        graphql_type=Connection[JobErrorType],
        description="The problems found in the input, in the order found.",
    )
    async def errors(
        self, root: Parent[Job], info: Info, first: int | None = None, after: str | None = None
    ) -> Page[Any]:
        return await queries.job_errors(info.context, root.id, PageArgs(first, after))

    @strawberry.field(description="A download link for the result (valid 15 minutes).")
    def result_url(self, root: Parent[Job], info: Info) -> str | None:
        return _file_url(info, root.result_file_id)

    @strawberry.field(description="A download link for the error report (valid 15 minutes).")
    def error_report_url(self, root: Parent[Job], info: Info) -> str | None:
        return _file_url(info, root.error_report_file_id)


@strawberry.input
class JobFilter:
    kind: JobKindEnum | None = None  # type: ignore[valid-type]
    status: JobStatusEnum | None = None  # type: ignore[valid-type]


@strawberry.input
class ExportProductsInput:
    filter: ProductFilter | None = None
    format: ExportFormat = ExportFormatValue.CSV  # type: ignore[valid-type]


@strawberry.type
class JobPayload:
    value: JobType | None = strawberry.field(name="job")
    errors: list[UserErrorType]


@strawberry.type
class JobQuery:
    @strawberry.field(description="A job by id (staff; null for anyone else).")
    async def job(self, info: Info, id: strawberry.ID) -> JobType | None:
        job: Any = await queries.job_by_global_id(info.context, id)
        return job  # type: ignore[no-any-return]

    @strawberry.field(
        graphql_type=Connection[JobType],
        description="Jobs, newest first (staff see every job; anyone else none).",
    )
    async def jobs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: JobFilter | None = None,
    ) -> Page[Any]:
        data = queries.JobFilterData(
            kind=filter.kind if filter else None, status=filter.status if filter else None
        )
        return await queries.list_jobs(info.context, PageArgs(first, after), data)


@strawberry.type
class JobMutation:
    @strawberry.mutation(
        graphql_type=JobType,
        permission_classes=[IsStaff],
        description="Export the catalog (filtered like `products`) as a file: a job whose "
        "`resultUrl` downloads it when it has SUCCEEDED.",
    )
    async def export_products(self, info: Info, input: ExportProductsInput) -> Job:
        user = require_role(info, *_STAFF)
        file_format: ExportFormatValue = input.format
        return await exports.start_product_export(
            info.context, user, filter_data(input.filter), file_format.value
        )

    @strawberry.mutation(
        graphql_type=JobPayload,
        permission_classes=[IsStaff],
        description="Cancel a job: a queued one at once, a running one at its next check.",
    )
    async def cancel_job(self, info: Info, id: strawberry.ID) -> Outcome[Job]:
        return await control.cancel_job(info.context, id)

    @strawberry.mutation(
        graphql_type=JobPayload,
        permission_classes=[IsStaff],
        description="Run a FAILED or CANCELLED job again from the start (a new attempt).",
    )
    async def retry_job(self, info: Info, id: strawberry.ID) -> Outcome[Job]:
        return await control.retry_job(info.context, id)

    @strawberry.mutation(
        graphql_type=StoredFileType,
        permission_classes=[IsStaff],
        description="Store a file (GraphQL multipart request; MAX_UPLOAD_BYTES at most).",
    )
    async def upload_file(self, info: Info, file: Upload) -> StoredFile:
        user = require_role(info, *_STAFF)
        async with info.context.writer() as session:
            # Over ASGI the Upload scalar is starlette's UploadFile.
            upload = cast(uploads.Upload, file)
            file_id = await uploads.save_upload(
                upload, user.id, session, info.context.services.files
            )
            await session.commit()
        stored = await info.context.services.files.describe(file_id)
        assert stored is not None
        return stored


_STAFF = (Role.STAFF, Role.ADMIN)
