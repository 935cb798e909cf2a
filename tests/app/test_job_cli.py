"""`catalog export products`: the export job run from the command line, its file written."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path

import httpx

from app.settings import Settings
from resolvers.context import Services
from tests.support.catalog import build_catalog


async def catalog_cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SECRET_KEY": settings.signing_key,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode(), err.decode()


async def test_export_products_writes_the_file_the_job_made(
    client: httpx.AsyncClient, services: Services, settings: Settings, tmp_path: Path
) -> None:
    await build_catalog(services, products=7, reviews_per_product=0)
    out = tmp_path / "products.csv"
    code, stdout, stderr = await catalog_cli(settings, "export", "products", "--out", str(out))
    assert code == 0, stderr
    assert "exported 7 products" in stdout
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["sku"] for row in rows] == [f"SKU-{i:04d}" for i in range(7)]
