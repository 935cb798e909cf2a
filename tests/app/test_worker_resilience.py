"""`catalog worker` as a process: it waits out a Redis restart, and the job of a worker killed
mid-run (SIGKILL) is taken over by another worker once its lease expires."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import text

from app.devservices.ownership import disown
from app.devservices.redis import ensure_redis, stop_redis
from app.settings import Settings
from db.jobs import Job, JobKind, JobStatus
from db.product_filters import ProductConditions
from resolvers.context import Services
from resolvers.jobs.create import create_job
from tests.support.catalog import build_catalog
from workers.exports.products import export_params
from workers.jobs.outbox import dispatch_jobs


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A Redis of this test's own (never the suite's or the machine's)."""
    port = ensure_redis(tmp_path)
    try:
        yield tmp_path, f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis(tmp_path / "redis")
        # Stopped here: the interpreter's exit must not try again (it would log an error).
        disown(tmp_path)


class WorkerProcess:
    def __init__(self, settings: Settings, redis_url: str, log: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": str(settings.database_url),
            "REDIS_URL": redis_url,
            "SECRET_KEY": settings.signing_key,
            "JOB_LEASE_SECONDS": "2",
            "JOB_HEARTBEAT_SECONDS": "0.3",
            "JOB_RETRY_BASE_SECONDS": "0.5",
            "LOG_LEVEL": "INFO",
        }
        self.log = log
        self.output = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for_log(self, needle: str, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while needle not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, f"no {needle!r} in:\n{self.text()}"
            await asyncio.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()
        return self.process.returncode


StartWorker = Callable[[str], Awaitable[WorkerProcess]]


@pytest.fixture
async def start_worker(
    client: httpx.AsyncClient,
    services: Services,
    settings: Settings,
    private_redis: tuple[Path, str],
    tmp_path: Path,
) -> AsyncIterator[StartWorker]:
    """Starts `catalog worker` processes on the private Redis (a catalog of 5 products is
    there); each is stopped at the end."""
    await build_catalog(services, products=5, reviews_per_product=0)
    started: list[WorkerProcess] = []

    async def start(name: str) -> WorkerProcess:
        worker = WorkerProcess(settings, private_redis[1], tmp_path / f"{name}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def new_export(services: Services, redis_url: str) -> int:
    async with services.sessions() as session:
        job = await create_job(
            session,
            JobKind.EXPORT_PRODUCTS,
            export_params("csv", ProductConditions(), None),
            None,
            None,
        )
        await session.commit()
    queue = ArqRedis.from_url(redis_url, socket_connect_timeout=1)
    try:
        await dispatch_jobs(queue, services.sessions, [job.id])
    finally:
        await queue.aclose()
    return job.id


async def wait_for_status(
    services: Services, job_id: int, status: JobStatus, within: float = 30
) -> Job:
    deadline = time.monotonic() + within
    while True:
        async with services.sessions() as session:
            job = await session.get(Job, job_id)
        assert job is not None
        if job.status is status:
            return job
        assert time.monotonic() < deadline, (job.status, job.failure_reason)
        await asyncio.sleep(0.1)


async def test_the_worker_waits_out_a_redis_restart(
    services: Services, private_redis: tuple[Path, str], start_worker: StartWorker
) -> None:
    data_dir, redis_url = private_redis
    worker = await start_worker("worker")
    await worker.wait_for_log("worker ready")
    before = await new_export(services, redis_url)
    await wait_for_status(services, before, JobStatus.SUCCEEDED)

    stop_redis(data_dir / "redis")
    await worker.wait_for_log("Redis is unreachable")
    # Promised while Redis is down: the row keeps its enqueue mark.
    during = await new_export(services, redis_url)
    async with services.sessions() as session:
        job = await session.get(Job, during)
        assert job is not None and job.enqueue_pending

    ensure_redis(data_dir)
    await worker.wait_for_log("Redis is reachable again")
    done = await wait_for_status(services, during, JobStatus.SUCCEEDED)
    assert done.progress_done == 5
    assert worker.process.poll() is None
    assert worker.stop() == 0


async def test_a_killed_workers_job_is_taken_over_by_another_worker(
    services: Services, private_redis: tuple[Path, str], start_worker: StartWorker
) -> None:
    redis_url = private_redis[1]
    first = await start_worker("first")
    await first.wait_for_log("worker ready")
    # Hold the catalog so the export stays mid-run (claimed, heartbeating) until we kill it.
    async with services.sessions() as blocker:
        await blocker.execute(text("LOCK TABLE products IN ACCESS EXCLUSIVE MODE"))
        job_id = await new_export(services, redis_url)
        running = await wait_for_status(services, job_id, JobStatus.RUNNING)
        assert running.attempts == 1
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        await blocker.rollback()

    second = await start_worker("second")
    done = await wait_for_status(services, job_id, JobStatus.SUCCEEDED, within=40)
    assert done.attempts == 2
    assert done.progress_done == 5
    assert "lost their worker" in second.text()
