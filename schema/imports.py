"""The product import: `importProducts` (staff) and `importTemplate`.

The mutation stores the uploaded file and starts an IMPORT_PRODUCTS job (see
`workers.imports.job`); everything about the file's content is reported on the job: its
status, summary, `errors` connection and `errorReportUrl`.
"""

from __future__ import annotations

import base64
import enum
from typing import cast

import strawberry
from strawberry.file_uploads import Upload

from db.jobs import Job
from db.users import Role
from resolvers.context import Info
from resolvers.jobs import imports, uploads
from schema.jobs import JobType
from schema.permissions import IsStaff, require_role
from workers.imports.template import COLUMNS, template_csv


class OnErrorValue(enum.Enum):
    ABORT = "abort"
    SKIP_ROWS = "skip_rows"


OnError = strawberry.enum(
    OnErrorValue,
    name="ImportOnError",
    description="What an import does when some rows have errors: ABORT applies nothing, "
    "SKIP_ROWS applies the valid rows.",
)


@strawberry.input
class ImportProductsInput:
    file: Upload = strawberry.field(description="A CSV (UTF-8) or XLSX file (see importTemplate).")
    dry_run: bool = strawberry.field(
        default=False, description="Check every row and count what would change; write nothing."
    )
    on_error: OnError = OnErrorValue.ABORT  # type: ignore[valid-type]


@strawberry.type
class ImportColumn:
    name: str
    required: bool
    description: str


@strawberry.type
class ImportTemplate:
    columns: list[ImportColumn]
    csv: str = strawberry.field(description="The header and two example rows, as a CSV file.")

    @strawberry.field(description="The same CSV as a data: URL a browser downloads as is.")
    def url(self) -> str:
        return "data:text/csv;charset=utf-8;base64," + base64.b64encode(self.csv.encode()).decode()


@strawberry.type
class ImportQuery:
    @strawberry.field(description="The columns and formats of an import file, with examples.")
    def import_template(self) -> ImportTemplate:
        return ImportTemplate(
            columns=[
                ImportColumn(name=c.name, required=c.required, description=c.description)
                for c in COLUMNS
            ],
            csv=template_csv(),
        )


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        graphql_type=JobType,
        permission_classes=[IsStaff],
        description="Import products from a file (GraphQL multipart request): a job whose "
        "summary, errors and errorReportUrl say what happened. Atomic: the catalog changes "
        "only when the whole file is checked and applied.",
    )
    async def import_products(self, info: Info, input: ImportProductsInput) -> Job:
        user = require_role(info, Role.STAFF, Role.ADMIN)
        on_error: OnErrorValue = input.on_error
        return await imports.start_product_import(
            info.context,
            user,
            cast(uploads.Upload, input.file),  # over ASGI: starlette's UploadFile
            dry_run=input.dry_run,
            skip_rows=on_error is OnErrorValue.SKIP_ROWS,
        )
