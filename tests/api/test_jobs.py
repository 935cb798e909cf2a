"""Jobs over HTTP: an export's lifecycle through the real worker, downloads, cancel, retry,
who may see and start jobs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import openpyxl

from db.users import Role
from resolvers.context import Services
from resolvers.jobs.downloads import download_token
from tests.support.catalog import build_catalog, error_codes, execute, gid, new_user
from tests.support.graphql import GraphQLClient

RunWorker = Callable[[], Awaitable[int]]

JOB_FIELDS = """
  id kind status attempts failureReason cancelRequested createdAt startedAt finishedAt
  progress { done total percent } summary { created updated unchanged failed }
  createdBy { id } resultUrl errorReportUrl
  errors(first: 5) { totalCount edges { node { row column code message } } }
"""
EXPORT = f"""
mutation Export($input: ExportProductsInput!) {{ exportProducts(input: $input) {{ {JOB_FIELDS} }} }}
"""
JOB = f"query Job($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
JOBS = """
query Jobs($filter: JobFilter) { jobs(first: 10, filter: $filter) {
  totalCount edges { node { id kind status } } } }
"""
CANCEL = "mutation C($id: ID!) { cancelJob(id: $id) { job { id status } errors { code } } }"
RETRY = "mutation R($id: ID!) { retryJob(id: $id) { job { id status } errors { code } } }"


async def staff(gql: GraphQLClient, services: Services) -> GraphQLClient:
    _, token = await new_user(services, Role.STAFF)
    return gql.as_user(token)


async def download(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.get(urlsplit(url).path)


async def test_an_export_runs_in_the_worker_and_downloads_as_csv(
    client: httpx.AsyncClient, gql: GraphQLClient, services: Services, run_worker: RunWorker
) -> None:
    catalog = await build_catalog(services, products=12, reviews_per_product=0)
    await execute(
        services,
        'UPDATE products SET name = \'=HYPERLINK(1)\', attributes = \'{"b": 1, "a": "x"}\', '
        'images = \'[{"url": "https://img.example.com/1.jpg", "alt": "front"}, '
        '{"url": "https://img.example.com/2.jpg", "alt": ""}]\' WHERE sku = \'SKU-0001\'',
    )
    api = await staff(gql, services)
    job = (await api.data(EXPORT, {"input": {"format": "CSV"}}))["exportProducts"]
    assert (job["kind"], job["status"], job["resultUrl"]) == ("EXPORT_PRODUCTS", "QUEUED", None)

    assert await run_worker() == 1
    job = (await api.data(JOB, {"id": job["id"]}))["job"]
    assert job["status"] == "SUCCEEDED", job
    assert job["progress"] == {"done": 12, "total": 12, "percent": 100.0}
    assert job["attempts"] == 1 and job["startedAt"] and job["finishedAt"]
    assert job["errors"] == {"totalCount": 0, "edges": []}
    assert job["createdBy"]["id"]

    response = await download(client, job["resultUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith('attachment; filename="products-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["sku"] for row in rows] == [f"SKU-{i:04d}" for i in range(12)]
    first = rows[1]
    assert first["name"] == "'=HYPERLINK(1)"
    assert first["category"] == "Electronics > Computers > Laptops"
    assert (first["price"], first["currency"], first["stock"]) == ("11.00", "USD", "10")
    assert first["status"] == "PUBLISHED" and rows[0]["status"] == "DRAFT"
    assert json.loads(first["attributes"]) == {"a": "x", "b": 1}
    assert first["images"] == "https://img.example.com/1.jpg|front\nhttps://img.example.com/2.jpg"
    assert rows[0]["category"] == "Electronics > Computers"
    assert catalog.products


async def test_an_xlsx_export_of_a_filtered_catalog(
    client: httpx.AsyncClient, gql: GraphQLClient, services: Services, run_worker: RunWorker
) -> None:
    catalog = await build_catalog(services, products=12, reviews_per_product=0)
    api = await staff(gql, services)
    job = (
        await api.data(
            EXPORT,
            {
                "input": {
                    "format": "XLSX",
                    "filter": {
                        "categoryId": gid("Category", catalog.leaf.id),
                        "inStock": True,
                        "status": "PUBLISHED",
                        "priceMin": "11",
                    },
                }
            },
        )
    )["exportProducts"]
    await run_worker()
    job = (await api.data(JOB, {"id": job["id"]}))["job"]
    response = await download(client, job["resultUrl"])
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)["products"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("sku", "name", "description")
    expected = [f"SKU-{i:04d}" for i in range(12) if i % 3 and i % 5 and i % 6 and i >= 1]
    assert [row[0] for row in rows[1:]] == expected
    assert job["progress"]["done"] == len(expected)


async def test_download_links_expire_and_cannot_be_forged(
    client: httpx.AsyncClient, gql: GraphQLClient, services: Services, run_worker: RunWorker
) -> None:
    await build_catalog(services, products=2, reviews_per_product=0)
    api = await staff(gql, services)
    job = (await api.data(EXPORT, {"input": {}}))["exportProducts"]
    await run_worker()
    url = (await api.data(JOB, {"id": job["id"]}))["job"]["resultUrl"]
    file_id = int(urlsplit(url).path.split("/")[-1].split(".")[0])

    expired = download_token(
        services.signer.key,
        file_id,
        timedelta(minutes=15),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    response = await client.get(f"/files/{expired}")
    assert (response.status_code, response.headers["content-type"]) == (
        403,
        "text/plain; charset=utf-8",
    )
    assert "expired" in response.text
    other_file = download_token("another key", file_id, timedelta(minutes=15))
    for token in (
        other_file,
        url.rsplit("/", 1)[1].replace(f"{file_id}.", f"{file_id + 1}.", 1),
        "x",
    ):
        response = await client.get(f"/files/{token}")
        assert response.status_code == 404, token
        assert "not valid" in response.text


async def test_only_staff_see_and_start_jobs(
    client: httpx.AsyncClient, gql: GraphQLClient, services: Services
) -> None:
    api = await staff(gql, services)
    job = (await api.data(EXPORT, {"input": {}}))["exportProducts"]
    _, customer_token = await new_user(services, Role.CUSTOMER)
    customer = gql.as_user(customer_token)
    assert (await customer.data(JOB, {"id": job["id"]}))["job"] is None
    assert (await customer.data(JOBS))["jobs"] == {"totalCount": 0, "edges": []}
    assert error_codes(await customer.post(EXPORT, {"input": {}})) == ["FORBIDDEN"]
    assert error_codes(await gql.post(EXPORT, {"input": {}})) == ["UNAUTHENTICATED"]
    assert error_codes(await customer.post(CANCEL, {"id": job["id"]})) == ["FORBIDDEN"]

    listed = await api.data(JOBS, {"filter": {"kind": "EXPORT_PRODUCTS", "status": "QUEUED"}})
    assert listed["jobs"]["edges"] == [
        {"node": {"id": job["id"], "kind": "EXPORT_PRODUCTS", "status": "QUEUED"}}
    ]
    assert (await api.data(JOBS, {"filter": {"status": "RUNNING"}}))["jobs"]["totalCount"] == 0
    assert error_codes(await api.post(JOB, {"id": "not an id"})) == ["BAD_USER_INPUT"]
    assert (await api.data(JOB, {"id": gid("Product", 1)}))["job"] is None


async def test_cancel_a_queued_job_then_retry_it(
    client: httpx.AsyncClient, gql: GraphQLClient, services: Services, run_worker: RunWorker
) -> None:
    await build_catalog(services, products=3, reviews_per_product=0)
    api = await staff(gql, services)
    job = (await api.data(EXPORT, {"input": {}}))["exportProducts"]
    assert (await api.data(RETRY, {"id": job["id"]}))["retryJob"]["errors"] == [
        {"code": "JOB_NOT_RETRYABLE"}
    ]
    cancelled = (await api.data(CANCEL, {"id": job["id"]}))["cancelJob"]
    assert cancelled == {"job": {"id": job["id"], "status": "CANCELLED"}, "errors": []}
    await run_worker()  # the queued arq job finds it cancelled and does nothing
    assert (await api.data(JOB, {"id": job["id"]}))["job"]["status"] == "CANCELLED"
    assert (await api.data(CANCEL, {"id": job["id"]}))["cancelJob"]["errors"] == [
        {"code": "JOB_FINISHED"}
    ]

    retried = (await api.data(RETRY, {"id": job["id"]}))["retryJob"]
    assert retried == {"job": {"id": job["id"], "status": "QUEUED"}, "errors": []}
    await run_worker()
    done = (await api.data(JOB, {"id": job["id"]}))["job"]
    assert (done["status"], done["progress"]["done"], done["cancelRequested"]) == (
        "SUCCEEDED",
        3,
        False,
    )
    assert done["resultUrl"]
    unknown = (await api.data(CANCEL, {"id": gid("Job", 999)}))["cancelJob"]
    assert unknown["errors"] == [{"code": "NOT_FOUND"}]
