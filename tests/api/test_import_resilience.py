"""Product import under stress: a worker SIGKILLed mid-file, two imports of the same SKUs.

The killed worker is a real `catalog worker` process; the run that takes the job over is the
real arq worker, after the lease expired and the sweep re-queued the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import select, text

from app.settings import Settings
from app.worker import build_worker
from db.catalog import Product
from db.jobs import Job, JobStatus
from resolvers.context import Services
from tests.support.catalog import gid
from tests.support.graphql import GraphQLClient, SignUp
from tests.support.imports import csv_bytes, job, queue_import
from workers.imports.job import BATCH_ROWS
from workers.jobs.outbox import sweep_jobs
from workers.jobs.policy import JobPolicy
from workers.jobs.runner import run_job

Worker = Callable[[], Awaitable[int]]
HEADER = ["sku", "name", "price", "stock"]


def _rows(count: int, name: str, price: str) -> list[list[str]]:
    """`count` products; every 1000th row has a bad price, and row 7's SKU comes back."""
    rows = [
        [f"P-{i:06d}", f"{name} {i}", "-1" if i % 1000 == 999 else price, "1"] for i in range(count)
    ]
    rows[500][0] = rows[5][0]
    return rows


async def _load(services: Services, job_id: int) -> Job:
    async with services.sessions() as session:
        found = await session.get(Job, job_id)
        assert found is not None
        return found


async def test_a_killed_worker_is_resumed_to_the_same_result(
    client: httpx.AsyncClient,
    sign_up: SignUp,
    gql: GraphQLClient,
    services: Services,
    settings: Settings,
    run_worker: Worker,
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    count = BATCH_ROWS * 3
    job_id = await queue_import(
        services, csv_bytes(_rows(count, "Lamp", "9.99"), HEADER), skip_rows=True
    )
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "SECRET_KEY": settings.secret_key.get_secret_value() if settings.secret_key else "",
        "JOB_LEASE_SECONDS": "2",
        "JOB_HEARTBEAT_SECONDS": "0.5",
    }
    with tempfile.TemporaryDirectory() as cwd:
        env["DATA_DIR"] = cwd
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "catalog"),
            "worker",
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(600):
                checkpoint = (await _load(services, job_id)).checkpoint or {}
                if checkpoint.get("staged", 0) >= BATCH_ROWS and not checkpoint.get("finalized"):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError(f"the import never got going: {checkpoint}")
            os.kill(process.pid, signal.SIGKILL)
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
    killed = await _load(services, job_id)
    assert killed.status is JobStatus.RUNNING and killed.checkpoint
    assert 0 < killed.checkpoint["staged"] < count

    await asyncio.sleep(2.1)  # the lease expires
    ctx = {
        "sessions": services.sessions,
        "redis": services.redis,
        "job_policy": JobPolicy(lease=timedelta(seconds=2)),
    }
    await sweep_jobs(ctx)
    # Not a burst run: the killed worker's arq job stays in the queue, held (in progress)
    # until arq's own timeout, so the queue never looks empty; the job table says when done.
    worker = build_worker(settings, poll_delay=0.05, handle_signals=False, cron_jobs=[])
    running = asyncio.create_task(worker.main())
    try:
        for _ in range(600):
            if (await _load(services, job_id)).status.is_final:
                break
            await asyncio.sleep(0.1)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()
    result = await job(staff, gid("Job", job_id), first=1)
    assert result["status"] == "SUCCEEDED", result
    assert result["attempts"] == 2
    # Exactly an uninterrupted run's result: every error once, every good row applied.
    bad_prices = count // 1000
    assert result["errors"]["totalCount"] == bad_prices + 2
    assert result["summary"] == {
        "created": count - bad_prices - 2,
        "updated": 0,
        "unchanged": 0,
        "failed": bad_prices + 2,
    }
    async with services.sessions() as session:
        stored = (await session.execute(select(Product.sku))).scalars().all()
    assert len(stored) == count - bad_prices - 2


async def test_two_imports_of_the_same_skus_end_consistent(
    client: httpx.AsyncClient,
    sign_up: SignUp,
    gql: GraphQLClient,
    services: Services,
    run_worker: Worker,
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    count = 3000
    first = await queue_import(
        services, csv_bytes(_rows(count, "Alpha", "1.00"), HEADER), skip_rows=True
    )
    second = await queue_import(
        services, csv_bytes(_rows(count, "Beta", "2.00"), HEADER), skip_rows=True
    )
    await run_worker()  # both at once: arq runs up to 10 jobs concurrently
    results = [await job(staff, gid("Job", job_id)) for job_id in (first, second)]
    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    created = sorted(r["summary"]["created"] for r in results)
    assert created == [0, count - count // 1000 - 2]
    async with services.sessions() as session:
        stored = (await session.execute(select(Product.name, Product.price))).all()
    # One import applied after the other: every product is wholly one file's.
    sources = {(name.split()[0], price) for name, price in stored}
    assert sources in ({("Alpha", Decimal("1.00"))}, {("Beta", Decimal("2.00"))})


async def test_a_cancelled_import_leaves_the_catalog_and_staging_empty(
    client: httpx.AsyncClient, sign_up: SignUp, gql: GraphQLClient, services: Services
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    job_id = await queue_import(
        services, csv_bytes(_rows(BATCH_ROWS * 4, "Lamp", "9.99"), HEADER), skip_rows=True
    )
    ctx = {
        "sessions": services.sessions,
        "redis": services.redis,
        "files": services.files,
        "job_policy": JobPolicy(heartbeat=timedelta(seconds=0.1)),
    }
    running = asyncio.create_task(run_job(ctx, job_id))
    for _ in range(600):
        if ((await _load(services, job_id)).checkpoint or {}).get("staged", 0) >= BATCH_ROWS:
            break
        await asyncio.sleep(0.02)
    cancelled = await staff.data(
        "mutation($id: ID!) { cancelJob(id: $id) { job { status } errors { code } } }",
        {"id": gid("Job", job_id)},
    )
    assert cancelled["cancelJob"]["errors"] == []
    assert await running == "cancelled"
    result = await job(staff, gid("Job", job_id))
    assert result["status"] == "CANCELLED"
    async with services.sessions() as session:
        assert (await session.execute(select(Product.id))).first() is None
        staged = await session.execute(text("SELECT count(*) FROM import_rows"))
        assert staged.scalar_one() == 0
