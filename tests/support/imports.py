"""Starting product imports and reading their jobs back, for the import suites."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from db.jobs import JobKind
from resolvers.context import Services
from resolvers.jobs.create import create_job, enqueue_jobs
from tests.support.graphql import GraphQLClient
from workers.exports.columns import PRODUCT_COLUMNS
from workers.imports.job import import_params

JOB = """
query Job($id: ID!, $first: Int, $after: String) {
  job(id: $id) {
    id kind status failureReason attempts errorReportUrl
    progress { done total percent }
    summary { created updated unchanged failed }
    errors(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { row column code message } }
    }
  }
}
"""


def csv_bytes(rows: Sequence[Sequence[Any]], header: Sequence[str] = PRODUCT_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def queue_import(
    services: Services,
    content: bytes,
    *,
    dry_run: bool = False,
    skip_rows: bool = False,
    max_rows: int = 1_000_000,
) -> int:
    """Store `content` and queue an import job of it, as importProducts does; the job's id."""
    async with services.sessions() as session:
        file_id = await services.files.save(
            _chunks(content),
            name="products.csv",
            content_type="text/csv",
            purpose="upload",
            session=session,
        )
        job = await create_job(
            session,
            JobKind.IMPORT_PRODUCTS,
            import_params(dry_run=dry_run, skip_rows=skip_rows, max_rows=max_rows),
            file_id,
            None,
        )
        await session.commit()
    await enqueue_jobs(services, [job.id])
    return job.id


async def job(gql: GraphQLClient, job_id: str, first: int = 100) -> dict[str, Any]:
    data = await gql.data(JOB, {"id": job_id, "first": first})
    result: dict[str, Any] = data["job"]
    return result


def errors(job_data: dict[str, Any]) -> list[tuple[int | None, str | None, str]]:
    return [
        (edge["node"]["row"], edge["node"]["column"], edge["node"]["code"])
        for edge in job_data["errors"]["edges"]
    ]


IMPORT = """
mutation Import($input: ImportProductsInput!) {
  importProducts(input: $input) { id status kind }
}
"""
PREFLIGHT = {"GraphQL-Require-Preflight": "1"}


async def upload_import(
    http: Any,
    token: str | None,
    content: bytes,
    *,
    dry_run: bool = False,
    on_error: str = "ABORT",
    name: str = "products.csv",
    content_type: str = "text/csv",
) -> dict[str, Any]:
    """importProducts as a frontend sends it: a GraphQL multipart request."""
    operations = {
        "query": IMPORT,
        "variables": {"input": {"file": None, "dryRun": dry_run, "onError": on_error}},
    }
    headers = {"accept": "application/graphql-response+json", **PREFLIGHT}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (name, content, content_type)},
        headers=headers,
    )
    body: dict[str, Any] = response.json()
    return body
