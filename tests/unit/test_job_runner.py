"""The job runner: outcomes of a handler, transient faults and backoff, cancel, the lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from db.jobs import Job, JobError, JobKind, JobStatus
from resolvers.context import Services
from resolvers.jobs.create import create_job
from workers.files import PostgresFileStore
from workers.jobs import runner
from workers.jobs.outbox import run_job_id, sweep_jobs
from workers.jobs.policy import JobPolicy
from workers.jobs.runner import JobRun, Summary, run_job

KIND = JobKind.EXPORT_PRODUCTS


@pytest.fixture
def ctx(services: Services) -> dict[str, Any]:
    return {
        "sessions": services.sessions,
        "redis": services.redis,
        "files": PostgresFileStore(services.sessions),
        "job_policy": JobPolicy(
            lease=timedelta(seconds=2),
            heartbeat=timedelta(seconds=0.2),
            retry_base=timedelta(seconds=1),
            max_attempts=2,
        ),
    }


async def new_job(services: Services, **params: Any) -> int:
    async with services.sessions() as session:
        job = await create_job(session, KIND, params, None, None, max_attempts=2)
        await session.commit()
        return job.id


async def load(services: Services, job_id: int) -> Job:
    async with services.sessions() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


def handle(monkeypatch: pytest.MonkeyPatch, handler: runner.Handler) -> None:
    monkeypatch.setitem(runner.HANDLERS, KIND, handler)


async def test_a_finished_job_succeeds_with_its_summary_and_errors(
    client: httpx.AsyncClient, services: Services, ctx: dict[str, Any], monkeypatch: Any
) -> None:
    async def handler(run: JobRun) -> None:
        assert run.params == {"n": 3} and run.checkpoint is None and run.attempt == 1
        await run.progress(1, 3)
        await run.save_checkpoint({"done": 1})
        await run.add_errors([(2, "price", "INVALID_PRICE", "not a price")])
        await run.progress(3, 3)
        await run.finish(Summary(created=2, failed=1))

    handle(monkeypatch, handler)
    job_id = await new_job(services, n=3)
    async with services.redis.pubsub() as pubsub:
        await pubsub.subscribe("catalog:events:jobs")
        assert await run_job(ctx, job_id) == "succeeded"
        messages = [await pubsub.get_message(timeout=1) for _ in range(5)]
    assert sum(1 for m in messages if m and m["type"] == "message") >= 3
    job = await load(services, job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.created_count, job.failed_count) == (
        3,
        3,
        2,
        1,
    )
    assert job.checkpoint == {"done": 1} and job.finished_at and job.lease_token is None
    async with services.sessions() as session:
        errors = (await session.execute(select(JobError))).scalars().all()
    assert [(e.row, e.column, e.code) for e in errors] == [(2, "price", "INVALID_PRICE")]
    # A second delivery of the same job does nothing.
    assert await run_job(ctx, job_id) == "not runnable"


async def test_fail_is_final_and_unexpected_errors_say_nothing_internal(
    client: httpx.AsyncClient, services: Services, ctx: dict[str, Any], monkeypatch: Any
) -> None:
    async def bad_file(run: JobRun) -> None:
        await run.fail("the file is not a CSV or XLSX file")
        raise AssertionError("fail() unwinds the handler")

    handle(monkeypatch, bad_file)
    job_id = await new_job(services)
    assert await run_job(ctx, job_id) == "failed"
    job = await load(services, job_id)
    assert (job.status, job.failure_reason, job.attempts) == (
        JobStatus.FAILED,
        "the file is not a CSV or XLSX file",
        1,
    )

    async def bug(run: JobRun) -> None:
        raise KeyError("internal_column_name")

    handle(monkeypatch, bug)
    job_id = await new_job(services)
    assert await run_job(ctx, job_id) == "failed"
    job = await load(services, job_id)
    assert job.status is JobStatus.FAILED
    assert "internal_column_name" not in (job.failure_reason or "")


async def test_transient_faults_retry_with_backoff_then_fail_readably(
    client: httpx.AsyncClient, services: Services, ctx: dict[str, Any], monkeypatch: Any
) -> None:
    async def flaky(run: JobRun) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    handle(monkeypatch, flaky)
    job_id = await new_job(services)
    assert await run_job(ctx, job_id) == "retrying"
    job = await load(services, job_id)
    assert (job.status, job.attempts, job.enqueue_pending) == (JobStatus.QUEUED, 1, False)
    assert job.run_after is not None and job.run_after > datetime.now(UTC)
    assert "database was unreachable" in (job.failure_reason or "")
    assert await services.redis.exists(f"arq:job:{run_job_id(job_id, 2)}")

    assert await run_job(ctx, job_id) == "failed"
    job = await load(services, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert job.failure_reason == "gave up after 2 attempts: the database was unreachable"


async def test_a_cancel_request_reaches_the_handler_through_the_heartbeat(
    client: httpx.AsyncClient, services: Services, ctx: dict[str, Any], monkeypatch: Any
) -> None:
    import asyncio

    async def long(run: JobRun) -> None:
        async with services.sessions() as session:
            await session.execute(
                update(Job).where(Job.id == run.job_id).values(cancel_requested=True)
            )
            await session.commit()
        for _ in range(50):
            run.raise_if_cancelled()
            await asyncio.sleep(0.05)
        raise AssertionError("never cancelled")

    handle(monkeypatch, long)
    job_id = await new_job(services)
    assert await run_job(ctx, job_id) == "cancelled"
    assert (await load(services, job_id)).status is JobStatus.CANCELLED


async def test_a_cancel_accepted_just_before_the_end_wins_and_the_work_rolls_back(
    client: httpx.AsyncClient, services: Services, ctx: dict[str, Any], monkeypatch: Any
) -> None:
    """cancelJob committed after the handler's last check, before its end: the end (and the
    work committed with it) rolls back, the job ends CANCELLED, whatever the heartbeat saw."""
    ctx["job_policy"] = JobPolicy(heartbeat=timedelta(seconds=60))  # no heartbeat meanwhile

    async def handler(run: JobRun) -> None:
        run.raise_if_cancelled()  # the last check: nothing requested yet
        async with services.sessions() as other:  # cancelJob, from another request
            await other.execute(
                update(Job).where(Job.id == run.job_id).values(cancel_requested=True)
            )
            await other.commit()
        async with services.sessions() as session, session.begin():
            await session.execute(update(Job).where(Job.id == run.job_id).values(checkpoint={}))
            await session.execute(
                update(Job).where(Job.id == run.job_id).values(params={"work": "done"})
            )
            await run.finish(Summary(created=1), session=session)

    handle(monkeypatch, handler)
    job_id = await new_job(services, work="none")
    assert await run_job(ctx, job_id) == "cancelled"
    job = await load(services, job_id)
    assert job.status is JobStatus.CANCELLED
    assert job.params == {"work": "none"}  # the work in the end's transaction rolled back
    assert job.created_count == 0


async def test_a_job_whose_worker_died_is_taken_over_from_its_checkpoint(
    client: httpx.AsyncClient, services: Services, ctx: dict[str, Any], monkeypatch: Any
) -> None:
    seen: list[dict[str, Any] | None] = []

    async def resumable(run: JobRun) -> None:
        seen.append(run.checkpoint)
        await run.finish()

    handle(monkeypatch, resumable)
    job_id = await new_job(services)
    # As a dead worker leaves it: running, a checkpoint, a heartbeat older than the lease.
    async with services.sessions() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=JobStatus.RUNNING,
                attempts=1,
                lease_token="dead",
                enqueue_pending=False,
                checkpoint={"row": 500},
                heartbeat_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
        await session.commit()
    assert await sweep_jobs(ctx) == {"taken_over": 0, "enqueued": 0}  # lease not yet expired
    async with services.sessions() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=5))
        )
        await session.commit()
    assert await sweep_jobs(ctx) == {"taken_over": 1, "enqueued": 1}
    assert await services.redis.exists(f"arq:job:{run_job_id(job_id, 2)}")
    assert await run_job(ctx, job_id) == "succeeded"
    assert seen == [{"row": 500}]
    job = await load(services, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)


async def test_a_stopping_worker_hands_its_running_job_back(
    client: httpx.AsyncClient, services: Services, ctx: dict[str, Any], monkeypatch: Any
) -> None:
    import asyncio

    started = asyncio.Event()

    async def slow(run: JobRun) -> None:
        await run.save_checkpoint({"row": 7})
        started.set()
        await asyncio.sleep(30)

    handle(monkeypatch, slow)
    job_id = await new_job(services)
    running = asyncio.create_task(run_job(ctx, job_id))
    await started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    job = await load(services, job_id)
    assert (job.status, job.enqueue_pending, job.lease_token) == (JobStatus.QUEUED, True, None)
    assert job.checkpoint == {"row": 7}
    assert await sweep_jobs(ctx) == {"taken_over": 0, "enqueued": 1}
