"""Product import: a file checked row by row with the mutations' rules, then applied at once.

Jobs run in the real arq worker against real PostgreSQL and Redis; files go up as GraphQL
multipart requests and results come back over GraphQL, as a frontend sees them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, text

from db.catalog import Category, Product, ProductStatus
from resolvers.context import Services
from tests.support.catalog import build_catalog, execute, gid
from tests.support.graphql import Account, GraphQLClient, SignUp
from tests.support.imports import csv_bytes, errors, job, queue_import, upload_import
from workers.imports.job import BATCH_ROWS

Worker = Callable[[], Awaitable[int]]


@pytest.fixture
async def staff_account(client: httpx.AsyncClient, sign_up: SignUp) -> Account:
    return await sign_up(role="staff")


@pytest.fixture
def staff(staff_account: Account, gql: GraphQLClient) -> GraphQLClient:
    return gql.as_user(staff_account.access_token)


@pytest.fixture
async def categories(client: httpx.AsyncClient, services: Services) -> dict[str, int]:
    async with services.sessions() as session:
        audio = Category(name="Audio", slug="audio", path=[])
        session.add(audio)
        await session.flush()
        headphones = Category(
            name="Headphones", slug="headphones", parent_id=audio.id, path=[audio.id]
        )
        session.add(headphones)
        await session.commit()
        return {"audio": audio.id, "headphones": headphones.id}


async def products(services: Services) -> dict[str, Product]:
    async with services.sessions() as session:
        rows = (await session.execute(select(Product).order_by(Product.sku))).scalars()
        return {product.sku: product for product in rows}


GOOD = [
    ["HP-1", "Studio Headphones", "Closed back.", "149.00", "EUR", "Audio > Headphones", "5",
     "PUBLISHED", '{"color": "black"}', "https://example.com/hp.jpg|Front"],
    ["HP-2", "Open Headphones", "", "99.5", "USD", "headphones", "0", "draft", "", ""],
    ["SPK-1", "Speaker", "Loud.", "20", "", "audio", "", "", "", ""],
]  # fmt: skip
BAD = ["BAD SKU", "X", "", "-1", "usd", "nowhere", "1.5", "sold", "[1]", "ftp://x"]


async def test_a_valid_file_creates_every_product(
    staff: GraphQLClient, services: Services, categories: dict[str, int], run_worker: Worker
) -> None:
    job_id = await queue_import(services, csv_bytes(GOOD))
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert result["status"] == "SUCCEEDED", result
    assert result["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert result["progress"] == {"done": 3, "total": 3, "percent": 100.0}
    assert result["errorReportUrl"] is None
    stored = await products(services)
    assert stored["HP-1"].category_id == categories["headphones"]
    assert stored["HP-1"].price == Decimal("149.00") and stored["HP-1"].currency == "EUR"
    assert stored["HP-1"].status is ProductStatus.PUBLISHED and stored["HP-1"].stock == 5
    assert stored["HP-1"].attributes == {"color": "black"}
    assert stored["HP-1"].images == [{"url": "https://example.com/hp.jpg", "alt": "Front"}]
    assert stored["HP-1"].slug == "studio-headphones"
    assert stored["HP-2"].status is ProductStatus.DRAFT and stored["HP-2"].price == Decimal("99.50")
    assert stored["SPK-1"].currency == "USD" and stored["SPK-1"].category_id == categories["audio"]
    async with services.sessions() as session:
        staged = await session.execute(text("SELECT count(*) FROM import_rows"))
        assert staged.scalar_one() == 0


async def test_upload_dry_run_errors_page_then_skip_rows(
    client: httpx.AsyncClient,
    staff_account: Account,
    staff: GraphQLClient,
    services: Services,
    categories: dict[str, int],
    run_worker: Worker,
) -> None:
    content = csv_bytes([*GOOD, BAD])
    started = await upload_import(client, staff_account.access_token, content, dry_run=True)
    assert "errors" not in started, started
    dry = started["data"]["importProducts"]
    assert (dry["kind"], dry["status"]) == ("IMPORT_PRODUCTS", "QUEUED")
    await run_worker()
    result = await job(staff, dry["id"], first=3)
    assert result["status"] == "SUCCEEDED", result
    assert result["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 1}
    assert await products(services) == {}
    # The errors, a page at a time, with their rows (the header is row 1).
    assert result["errors"]["totalCount"] == 7
    first_page = errors(result)
    assert len(first_page) == 3 and result["errors"]["pageInfo"]["hasNextPage"]
    rest = await staff.data(
        "query($id: ID!, $after: String) { job(id: $id) { errors(first: 10, after: $after) "
        "{ edges { node { row column code message } } } } }",
        {"id": dry["id"], "after": result["errors"]["pageInfo"]["endCursor"]},
    )
    found = first_page + [
        (e["node"]["row"], e["node"]["column"], e["node"]["code"])
        for e in rest["job"]["errors"]["edges"]
    ]
    assert sorted(found) == [
        (5, "attributes", "INVALID_INPUT"),
        (5, "currency", "INVALID_CURRENCY"),
        (5, "images", "INVALID_URL"),
        (5, "price", "INVALID_PRICE"),
        (5, "sku", "INVALID_INPUT"),
        (5, "status", "INVALID_INPUT"),
        (5, "stock", "INVALID_INPUT"),
    ]
    # The error report downloads as CSV.
    report = await client.get(result["errorReportUrl"].removeprefix("http://127.0.0.1:8000"))
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "code", "message"]
    assert len(lines) == 8 and {line[0] for line in lines[1:]} == {"5"}

    started = await upload_import(client, staff_account.access_token, content, on_error="SKIP_ROWS")
    await run_worker()
    result = await job(staff, started["data"]["importProducts"]["id"])
    assert result["status"] == "SUCCEEDED", result
    assert result["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 1}
    assert sorted(await products(services)) == ["HP-1", "HP-2", "SPK-1"]


async def test_abort_applies_nothing_when_a_row_fails(
    staff: GraphQLClient, services: Services, categories: dict[str, int], run_worker: Worker
) -> None:
    job_id = await queue_import(services, csv_bytes([*GOOD, BAD]))
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert result["status"] == "FAILED"
    assert "1 row(s) have errors; nothing was imported" in result["failureReason"]
    assert result["summary"]["failed"] == 1 and result["errorReportUrl"]
    assert await products(services) == {}


async def test_updates_unchanged_rows_and_partial_columns(
    staff: GraphQLClient, services: Services, categories: dict[str, int], run_worker: Worker
) -> None:
    await queue_import(services, csv_bytes(GOOD))
    await run_worker()
    before = await products(services)
    # Only sku, price and stock: the other values stay; an equal row is unchanged.
    content = csv_bytes(
        [["hp-1", "149.00", "5"], ["HP-2", "89.99", "3"], ["NEW-1", "", "1"]],
        header=["SKU", "Price", "stock"],
    )
    job_id = await queue_import(services, content, skip_rows=True)
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert result["summary"] == {"created": 0, "updated": 1, "unchanged": 1, "failed": 1}
    assert errors(result) == [(4, "name", "MISSING_VALUE"), (4, "price", "MISSING_VALUE")]
    after = await products(services)
    assert sorted(after) == ["HP-1", "HP-2", "SPK-1"]
    assert after["HP-2"].price == Decimal("89.99") and after["HP-2"].stock == 3
    assert after["HP-2"].name == "Open Headphones" and after["HP-2"].slug == before["HP-2"].slug
    assert after["HP-1"].updated_at == before["HP-1"].updated_at


async def test_whole_file_checks(
    staff: GraphQLClient, services: Services, categories: dict[str, int], run_worker: Worker
) -> None:
    await queue_import(services, csv_bytes([["YEN-1", "Tea", "", "300", "JPY"] + [""] * 5]))
    await run_worker()
    rows = [
        ["A-1", "One", "", "1", "", "", "", "", "", ""],
        ["A-1", "One again", "", "2", "", "", "", "", "", ""],
        ["B-1", "Bee", "", "1", "", "Audio > Speakers", "", "", "", ""],
        ["YEN-1", "", "", "300.50", "", "", "", "", "", ""],
        ["C-1", "Sea", "", "1", "", "AUDIO > headphones", "", "", "", ""],
    ]
    job_id = await queue_import(services, csv_bytes(rows), dry_run=True)
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert sorted(errors(result)) == [
        (2, "sku", "DUPLICATE_SKU"),
        (3, "sku", "DUPLICATE_SKU"),
        (4, "category", "UNKNOWN_CATEGORY"),
        (5, "price", "INVALID_PRICE"),
    ]
    assert result["summary"] == {"created": 1, "updated": 0, "unchanged": 0, "failed": 4}


async def test_categories_across_batches(
    staff: GraphQLClient, services: Services, categories: dict[str, int], run_worker: Worker
) -> None:
    # Categories are resolved batch by batch (each cell once per import): a cell seen in the
    # first batch, in another case, by slug, and an unknown one, all past the first batch.
    header = ["sku", "name", "price", "category"]
    rows = [[f"K-{i}", f"Knob {i}", "1", "Audio > Headphones"] for i in range(BATCH_ROWS)]
    rows += [
        ["L-1", "Late", "1", "audio > HEADPHONES"],
        ["L-2", "Later", "1", "audio"],
        ["L-3", "Lost", "-1", "Audio > Speakers"],
        ["L-4", "None", "1", ""],
    ]
    job_id = await queue_import(services, csv_bytes(rows, header=header), skip_rows=True)
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    last = BATCH_ROWS + 1
    # A row's own errors come before the category's.
    assert errors(result) == [
        (last + 3, "price", "INVALID_PRICE"),
        (last + 3, "category", "UNKNOWN_CATEGORY"),
    ]
    assert result["summary"] == {
        "created": BATCH_ROWS + 3,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
    }
    found = await products(services)
    assert {found[sku].category_id for sku in ("K-0", f"K-{BATCH_ROWS - 1}", "L-1")} == {
        categories["headphones"]
    }
    assert found["L-2"].category_id == categories["audio"]
    assert found["L-4"].category_id is None and "L-3" not in found


async def test_same_names_get_numbered_slugs(
    staff: GraphQLClient, services: Services, run_worker: Worker, client: httpx.AsyncClient
) -> None:
    rows = [[f"S-{i}", "Desk Lamp", "", "10"] for i in range(3)]
    await queue_import(services, csv_bytes(rows, header=["sku", "name", "description", "price"]))
    await run_worker()
    more = [["S-9", "Desk Lamp", "", "10"], ["S-8", "Desk Lamp 2", "", "10"]]
    await queue_import(services, csv_bytes(more, header=["sku", "name", "description", "price"]))
    await run_worker()
    slugs = {sku: product.slug for sku, product in (await products(services)).items()}
    assert slugs == {
        "S-0": "desk-lamp",
        "S-1": "desk-lamp-2",
        "S-2": "desk-lamp-3",
        "S-9": "desk-lamp-4",
        "S-8": "desk-lamp-2-2",
    }


def _wide_header() -> bytes:
    return (",".join(["sku"] + [f"c{i}" for i in range(200)]) + "\r\nA\r\n").encode()


def _late_latin1() -> bytes:
    good = b"".join(b"S-%d,Name %d,,1\r\n" % (i, i) for i in range(600))
    return b"sku,name,description,price\r\n" + good + b"S-X,Caf\xe9,,1\r\n"


BAD_FILES = {
    "unknown column": (b"sku,name,colour\r\nA,B,red\r\n", "BAD_HEADER", 1),
    "missing sku column": (b"name,price\r\nB,1\r\n", "MISSING_SKU_COLUMN", 1),
    "repeated column": (b"sku,SKU\r\nA,A\r\n", "BAD_HEADER", 1),
    "header only": (b"sku,name\r\n", "NO_ROWS", None),
    "empty": (b"", "NO_ROWS", None),
    "latin-1": (b"sku,name\r\nA,Caf\xe9\r\n", "NOT_UTF8", None),
    "latin-1 far down": (_late_latin1(), "NOT_UTF8", 602),
    "an image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "UNSUPPORTED_FILE", None),
    "a broken zip": (b"PK\x03\x04not really a workbook", "UNSUPPORTED_FILE", None),
    "too many columns": (_wide_header(), "TOO_MANY_COLUMNS", 1),
    "too many rows": (b"sku,name,price\r\nA,a,1\r\nB,b,1\r\nC,c,1\r\n", "TOO_MANY_ROWS", 4),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
async def test_a_bad_file_fails_with_a_clear_error(
    staff: GraphQLClient, services: Services, run_worker: Worker, case: str
) -> None:
    content, code, row = BAD_FILES[case]
    job_id = await queue_import(services, content, max_rows=2 if case == "too many rows" else 10**6)
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert result["status"] == "FAILED", result
    assert [(e[0], e[2]) for e in errors(result)] == [(row, code)]
    assert result["failureReason"] and "Traceback" not in result["failureReason"]
    assert result["errorReportUrl"]
    assert await products(services) == {}


async def test_oversized_cells_and_stray_cells_are_row_errors(
    staff: GraphQLClient, services: Services, run_worker: Worker
) -> None:
    content = csv_bytes(
        [["A-1", "x" * (64 * 1024 + 1), "1"], ["A-2", "Fine", "1", "stray"], ["A-3", "Ok", "2"]],
        header=["sku", "description", "price"],
    )
    job_id = await queue_import(services, content, skip_rows=True)
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert errors(result) == [
        (2, "description", "CELL_TOO_LARGE"),
        (3, None, "EXTRA_CELL"),
        (4, "name", "MISSING_VALUE"),
    ]
    assert result["summary"]["failed"] == 3


@pytest.mark.parametrize("delimiter", [";", "\t"])
async def test_semicolons_tabs_and_a_bom(
    staff: GraphQLClient, services: Services, run_worker: Worker, delimiter: str
) -> None:
    content = (
        f"\ufeffSKU{delimiter}Name{delimiter}Price\r\nA-1{delimiter}Caf\u00e9{delimiter}1.50\r\n"
    )
    job_id = await queue_import(services, content.encode())
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert result["status"] == "SUCCEEDED", result
    stored = await products(services)
    assert stored["A-1"].name == "Caf\u00e9" and stored["A-1"].price == Decimal("1.50")


EXPORT = "mutation($input: ExportProductsInput!) { exportProducts(input: $input) { id } }"
RESULT = "query($id: ID!) { job(id: $id) { status resultUrl } }"


@pytest.mark.parametrize(("file_format", "name"), [("CSV", "p.csv"), ("XLSX", "p.xlsx")])
async def test_an_export_reimports_unchanged(
    client: httpx.AsyncClient,
    staff_account: Account,
    staff: GraphQLClient,
    services: Services,
    run_worker: Worker,
    file_format: str,
    name: str,
) -> None:
    await build_catalog(services, products=12, reviews_per_product=0)
    await execute(
        services,
        "UPDATE products SET name = '=HYPERLINK(1)', description = E'-5 degrees\\n@home', "
        'attributes = \'{"b": 1, "a": "x"}\', images = \'[{"url": "https://img.example.com/1.jpg",'
        ' "alt": "front | back"}, {"url": "https://img.example.com/2.jpg", "alt": ""}]\', '
        "price = 1234.5 WHERE sku = 'SKU-0001'",
    )
    before = await products(services)
    exported = (await staff.data(EXPORT, {"input": {"format": file_format}}))["exportProducts"]
    await run_worker()
    url = (await staff.data(RESULT, {"id": exported["id"]}))["job"]["resultUrl"]
    content = (await client.get(urlsplit(url).path)).content

    started = await upload_import(client, staff_account.access_token, content, name=name)
    await run_worker()
    result = await job(staff, started["data"]["importProducts"]["id"])
    assert result["status"] == "SUCCEEDED", result
    assert result["summary"] == {"created": 0, "updated": 0, "unchanged": 12, "failed": 0}
    after = await products(services)
    assert [p.updated_at for p in after.values()] == [p.updated_at for p in before.values()]
    assert after["SKU-0001"].name == "=HYPERLINK(1)"


async def test_imported_products_are_found_by_search_and_rated_zero(
    staff: GraphQLClient, gql: GraphQLClient, services: Services, categories: dict[str, int],
    run_worker: Worker,
) -> None:  # fmt: skip
    await queue_import(services, csv_bytes(GOOD))
    await run_worker()
    data = await gql.data(
        '{ products(first: 5, filter: {search: "studio headphones"}) { edges { node { sku '
        "rating { average count } category { slug } } } } }"
    )
    assert [edge["node"] for edge in data["products"]["edges"]] == [
        {"sku": "HP-1", "rating": {"average": 0.0, "count": 0}, "category": {"slug": "headphones"}}
    ]


async def test_the_template_lists_the_columns_and_downloads_as_csv(gql: GraphQLClient) -> None:
    data = await gql.data("{ importTemplate { csv url columns { name required } } }")
    template = data["importTemplate"]
    assert [c["name"] for c in template["columns"] if c["required"]] == ["sku"]
    rows = list(csv.reader(io.StringIO(template["csv"])))
    assert rows[0] == [c["name"] for c in template["columns"]] and len(rows) == 3
    assert template["url"].startswith("data:text/csv;charset=utf-8;base64,")


async def test_only_staff_import(
    client: httpx.AsyncClient, sign_up: SignUp, services: Services
) -> None:
    customer = await sign_up()
    for token, code in ((customer.access_token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await upload_import(client, token, csv_bytes(GOOD))
        assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    async with services.sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM jobs"))).scalar_one() == 0
        assert (await session.execute(text("SELECT count(*) FROM stored_files"))).scalar_one() == 0
