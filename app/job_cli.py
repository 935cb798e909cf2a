"""Jobs from the command line: `catalog export products` (and the import's command) run the
very job code the worker runs, in this process, with a progress line on a terminal.

`LocalJobs.run` creates the job row (as the API would, but not enqueued), runs it through
`workers.jobs.runner.run_job` with a context like the worker's, and follows its progress in
the jobs table. The job is visible in the API (`jobs`) like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

from arq.connections import ArqRedis

from app.settings import Settings
from app.worker import job_policy
from db.jobs import Job, JobKind, JobStatus
from db.product_filters import ProductConditions
from db.session import SessionFactory, create_engine, create_session_factory
from resolvers.jobs.create import create_job
from workers.exports.products import export_params
from workers.files import FileStore, PostgresFileStore
from workers.jobs.runner import run_job
from workers.settings import JOB_HANDLERS

# Imported for its effect: each job kind's handler registers itself with the runner.
_KINDS = JOB_HANDLERS


class ProgressLine:
    """`label done/total (percent)`, redrawn on a terminal; nothing in a pipe or a log."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        stream = stream or sys.stderr
        self.stream = stream if stream.isatty() else None
        self.label = label
        self.last = ""

    def draw(self, done: int, total: int | None) -> None:
        if self.stream is None:
            return
        percent = f" ({done * 100 // total}%)" if total else ""
        line = f"\r{self.label}: {done}/{total if total is not None else '?'}{percent}"
        if line != self.last:
            self.stream.write(line)
            self.stream.flush()
            self.last = line

    def close(self) -> None:
        if self.stream is not None and self.last:
            self.stream.write("\n")
            self.stream.flush()


async def _follow(sessions: SessionFactory, job_id: int, line: ProgressLine) -> None:
    while True:
        async with sessions() as session:
            job = await session.get(Job, job_id)
        if job is not None:
            line.draw(job.progress_done, job.progress_total)
        await asyncio.sleep(0.2)


class LocalJobs:
    """Run jobs in this process, against the configured database and Redis."""

    def __init__(self, settings: Settings) -> None:
        assert settings.database_url, "DATABASE_URL is needed"
        assert settings.redis_url, "REDIS_URL is needed"
        self.settings = settings
        self.engine = create_engine(settings.database_url, pool_size=3)
        self.sessions = create_session_factory(self.engine)
        self.files: FileStore = PostgresFileStore(self.sessions)
        self.redis: ArqRedis = ArqRedis.from_url(settings.redis_url, socket_connect_timeout=2)

    async def __aenter__(self) -> LocalJobs:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.redis.aclose()
        await self.engine.dispose()

    async def run(
        self,
        kind: JobKind,
        params: dict[str, Any],
        *,
        label: str,
        input_path: Path | None = None,
        content_type: str = "application/octet-stream",
    ) -> Job:
        """Create the job (with `input_path` stored as its input file), run it, return it ended."""
        async with self.sessions() as session:
            input_file_id = None
            if input_path is not None:
                input_file_id = await self.files.save(
                    _read_file(input_path),
                    name=input_path.name,
                    content_type=content_type,
                    purpose="upload",
                    session=session,
                )
            job = await create_job(session, kind, params, input_file_id, None)
            job.enqueue_pending = False  # run here, not by a worker
            await session.commit()
        ctx = {
            "sessions": self.sessions,
            "redis": self.redis,
            "files": self.files,
            "job_policy": job_policy(self.settings),
        }
        line = ProgressLine(label)
        follower = asyncio.create_task(_follow(self.sessions, job.id, line))
        try:
            await run_job(ctx, job.id)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        async with self.sessions() as session:
            ended = await session.get(Job, job.id)
        assert ended is not None
        line.draw(ended.progress_done, ended.progress_total)
        line.close()
        return ended

    async def save_file(self, file_id: int, out: Path) -> int:
        """Write a stored file to `out` (streamed); its size."""
        size = 0
        with out.open("wb") as file:
            async for chunk in self.files.open(file_id):
                await asyncio.to_thread(file.write, chunk)
                size += len(chunk)
        return size


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, 1024 * 1024):
            yield chunk


async def export_products(settings: Settings, out: Path, file_format: str) -> int:
    """`catalog export products`: 0 when the file was written."""
    params = export_params(file_format, ProductConditions(), None)
    async with LocalJobs(settings) as jobs:
        job = await jobs.run(JobKind.EXPORT_PRODUCTS, params, label="exporting products")
        if job.status is not JobStatus.SUCCEEDED or job.result_file_id is None:
            print(f"export {job.status.name.lower()}: {job.failure_reason or ''}", file=sys.stderr)
            return 1
        size = await jobs.save_file(job.result_file_id, out)
    print(f"exported {job.progress_done} products to {out} ({size} bytes, job {job.id})")
    return 0
