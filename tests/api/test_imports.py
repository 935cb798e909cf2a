"""Product import: a file checked row by row with the mutations' rules, then applied at once.

Jobs run in the real arq worker against real PostgreSQL and Redis; results are read back over
GraphQL as a frontend would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from db.catalog import Category, Product, ProductStatus
from resolvers.context import Services
from tests.support.catalog import gid
from tests.support.graphql import Account, GraphQLClient, SignUp
from tests.support.imports import csv_bytes, errors, job, queue_import

Worker = Callable[[], Awaitable[int]]


@pytest.fixture
async def staff(client: httpx.AsyncClient, sign_up: SignUp, gql: GraphQLClient) -> GraphQLClient:
    account: Account = await sign_up(role="staff")
    return gql.as_user(account.access_token)


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


async def test_a_valid_file_creates_every_product(
    staff: GraphQLClient, services: Services, categories: dict[str, int], run_worker: Worker
) -> None:
    job_id = await queue_import(services, csv_bytes(GOOD))
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert result["status"] == "SUCCEEDED", result
    assert result["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert result["progress"] == {"done": 3, "total": 3, "percent": 100.0}
    stored = await products(services)
    assert stored["HP-1"].category_id == categories["headphones"]
    assert stored["HP-1"].price == Decimal("149.00") and stored["HP-1"].currency == "EUR"
    assert stored["HP-1"].status is ProductStatus.PUBLISHED and stored["HP-1"].stock == 5
    assert stored["HP-1"].attributes == {"color": "black"}
    assert stored["HP-1"].images == [{"url": "https://example.com/hp.jpg", "alt": "Front"}]
    assert stored["HP-1"].slug == "studio-headphones"
    assert stored["HP-2"].status is ProductStatus.DRAFT and stored["HP-2"].price == Decimal("99.50")
    assert stored["SPK-1"].currency == "USD" and stored["SPK-1"].category_id == categories["audio"]


async def test_a_dry_run_reports_and_writes_nothing(
    staff: GraphQLClient, services: Services, categories: dict[str, int], run_worker: Worker
) -> None:
    rows = [*GOOD, ["BAD SKU", "X", "", "-1", "usd", "nowhere", "1.5", "sold", "[1]", "ftp://x"]]
    job_id = await queue_import(services, csv_bytes(rows), dry_run=True)
    await run_worker()
    result = await job(staff, gid("Job", job_id))
    assert result["status"] == "SUCCEEDED", result
    assert result["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 1}
    assert sorted(errors(result)) == [
        (5, "attributes", "INVALID_INPUT"),
        (5, "currency", "INVALID_CURRENCY"),
        (5, "images", "INVALID_URL"),
        (5, "price", "INVALID_PRICE"),
        (5, "sku", "INVALID_INPUT"),
        (5, "status", "INVALID_INPUT"),
        (5, "stock", "INVALID_INPUT"),
    ]
    assert result["errorReportUrl"]
    assert await products(services) == {}
