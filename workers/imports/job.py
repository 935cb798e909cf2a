"""The IMPORT_PRODUCTS job: validate a file in checkpointed batches, then apply it at once.

    count the rows (reader.count_rows) → read and check each row (reader, rows; in a
    thread, batch n+1 while batch n is staged) → stage batches with their categories
    resolved (staging.stage) → whole-file checks (staging.finalize) → dry run: counts,
    report │ ABORT with errors: FAILED, nothing applied │ otherwise: apply in ONE
    transaction with the job's end.

Each batch of rows commits with its errors and the checkpoint (`row`: the last row staged,
`staged`: how many), so a worker killed mid-file resumes on the next worker after the last
batch and ends exactly as an uninterrupted run: the apply step either committed (the job is
SUCCEEDED with it) or left no trace. A resumed run whose staged rows are gone (PostgreSQL
restarted: the staging table is UNLOGGED) starts over.

Params (set by importProducts and `catalog import products`): `dry_run` (bool), `on_error`
("abort" | "skip_rows"), `max_rows`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.jobs import JobError, JobKind
from workers.events import publish_products_changed
from workers.exports.neutralise import neutralise
from workers.imports import staging
from workers.imports.reader import FileProblem, RawRow, count_rows, read_rows, spool
from workers.imports.rows import CheckedRow, check_row
from workers.jobs.runner import (
    TRANSIENT_ERRORS,
    JobFailed,
    JobRun,
    LeaseLost,
    Summary,
    register,
)

logger = logging.getLogger("catalog.jobs.imports")

BATCH_ROWS = 5000
DEFAULT_MAX_ROWS = 1_000_000
ANNOUNCE_BATCH = 1000
ON_ERROR = ("abort", "skip_rows")


def import_params(*, dry_run: bool, skip_rows: bool, max_rows: int) -> dict[str, Any]:
    """The job's params (JSON), as importProducts and `catalog import products` set them."""
    return {
        "dry_run": dry_run,
        "on_error": "skip_rows" if skip_rows else "abort",
        "max_rows": max_rows,
    }


def _count_rows(path: Path, max_rows: int) -> int:
    return count_rows(path, max_rows=max_rows)


def _check_batch(job_id: int, rows: Iterator[RawRow]) -> list[CheckedRow]:
    """The next batch of checked rows (empty at the end of the file); runs in a thread."""
    return [check_row(job_id, raw) for raw in itertools.islice(rows, BATCH_ROWS)]


def _spool_target(directory: str) -> io.BufferedWriter:
    return (Path(directory) / "input").open("wb")


async def _error_report(run: JobRun) -> int:
    """The job's errors as a CSV file (row, column, code, message), by row; its id."""

    async def lines() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["row", "column", "code", "message"])
        yield ("\ufeff" + buffer.getvalue()).encode()
        async with run.sessions() as session:
            result = await session.stream(
                select(JobError.row, JobError.column, JobError.code, JobError.message)
                .where(JobError.job_id == run.job_id)
                .order_by(JobError.row.asc().nulls_first(), JobError.id)
                .execution_options(yield_per=2000)
            )
            async for part in result.partitions():
                buffer.seek(0)
                buffer.truncate()
                for row, column, code, message in part:
                    writer.writerow(
                        [
                            "" if row is None else row,
                            neutralise(column or ""),
                            code,
                            neutralise(message),
                        ]
                    )
                yield buffer.getvalue().encode()

    return await run.files.save(
        lines(),
        name=f"import-{run.job_id}-errors.csv",
        content_type="text/csv; charset=utf-8",
        purpose="error_report",
        created_by_id=run.created_by_id,
    )


async def _file_failed(run: JobRun, problem: FileProblem) -> None:
    """A file that cannot be imported: its error, a report, FAILED (raises JobFailed)."""
    async with run.sessions() as session, session.begin():
        await staging.discard(session, run.job_id)
        await staging.forget_after(session, run.job_id, 0)
        await run.add_errors(
            [(problem.row, problem.column, problem.code, problem.message)], session=session
        )
        await run.save_checkpoint({}, session=session)
    report = await _error_report(run)
    await run.fail(problem.message, error_report_file_id=report)


async def _stage_batch(
    run: JobRun,
    batch: list[CheckedRow],
    state: dict[str, Any],
    categories: dict[str, int | None],
) -> dict[str, Any]:
    """Stage a batch with its errors and the checkpoint after it, in one transaction; the
    new checkpoint."""
    async with run.sessions() as session, session.begin():
        errors = await staging.stage(session, batch, categories)
        await run.add_errors(errors, session=session)
        state = {**state, "row": batch[-1].record[1], "staged": state["staged"] + len(batch)}
        await run.save_checkpoint(state, session=session)
    return state


async def _resume_point(run: JobRun, path: Path, max_rows: int) -> dict[str, Any]:
    """The checkpoint to go on from: the saved one when its staged rows are all there, else a
    fresh start (rows counted, leftovers of an earlier run removed)."""
    saved = run.checkpoint or {}
    if saved.get("staged") is not None:
        async with run.sessions() as session:
            if await staging.staged_count(session, run.job_id) == saved["staged"]:
                return saved
    # Counted first (in a thread: the heartbeat goes on); raises FileProblem before anything
    # is staged, so a bad header or too many rows costs no validation.
    total = await asyncio.to_thread(_count_rows, path, max_rows)
    state = {"total": total, "row": 1, "staged": 0, "finalized": False}
    async with run.sessions() as session, session.begin():
        await staging.discard(session, run.job_id)
        await staging.forget_after(session, run.job_id, 0)
        await run.save_checkpoint(state, session=session)
    return state


async def _validate(run: JobRun, path: Path, max_rows: int, state: dict[str, Any]) -> None:
    """Check the rows after the checkpoint and stage them, batch by batch. Reading and
    checking (Python, in a thread) overlap with staging the previous batch (the database's
    work): batch n+1 is checked while batch n is copied and committed."""
    total = state["total"]
    categories: dict[str, int | None] = {}
    rows = read_rows(path, max_rows=max_rows, after=state["row"])
    staging_task: asyncio.Task[dict[str, Any]] | None = None
    try:
        while batch := await asyncio.to_thread(_check_batch, run.job_id, rows):
            if staging_task is not None:
                state = await staging_task
                staging_task = None
                await run.progress(state["staged"], total)
                run.raise_if_cancelled()
            staging_task = asyncio.create_task(_stage_batch(run, batch, state, categories))
        if staging_task is not None:
            state = await staging_task
            staging_task = None
    finally:
        if staging_task is not None:
            # Reading failed (or the run is being cancelled) while a batch was being staged:
            # let it end (committed with its checkpoint, or rolled back); never cut a COPY.
            await asyncio.gather(staging_task, return_exceptions=True)
    async with run.sessions() as session, session.begin():
        await staging.finalize(session, run.job_id)
        await run.save_checkpoint({**state, "finalized": True}, session=session)


async def _announce(run: JobRun, product_ids: list[int]) -> None:
    for start in range(0, len(product_ids), ANNOUNCE_BATCH):
        await publish_products_changed(run.redis, product_ids[start : start + ANNOUNCE_BATCH])


async def _forget(run: JobRun) -> None:
    """A run that ends without applying (cancelled, or an unexpected error) leaves no staged
    rows behind; a retry starts over. Best effort: the job's end matters more."""
    try:
        async with run.sessions() as session, session.begin():
            await staging.discard(session, run.job_id)
            await run.save_checkpoint({}, session=session)
    except Exception:
        logger.warning("job %s: could not discard its staged rows", run.job_id, exc_info=True)


async def _conclude(run: JobRun, *, dry_run: bool, on_error: str) -> None:
    async with run.sessions() as session:
        # A dry run reports every count; otherwise apply() counts (under its lock).
        if dry_run:
            counts = await staging.count(session, run.job_id)
        else:
            counts = Summary(failed=await staging.failed_count(session, run.job_id))
    report = await _error_report(run) if counts.failed else None
    total = (run.checkpoint or {}).get("total")
    if dry_run or (counts.failed and on_error == "abort"):
        async with run.sessions() as session, session.begin():
            await staging.discard(session, run.job_id)
            await run.save_checkpoint({}, session=session)
        await run.progress(total or 0, total)
        if dry_run:
            await run.finish(counts, error_report_file_id=report)
            return
        await run.fail(
            f"{counts.failed} row(s) have errors; nothing was imported (onError: ABORT). "
            "Fix them, or import with onError: SKIP_ROWS to apply the other rows.",
            summary=Summary(failed=counts.failed),
            error_report_file_id=report,
        )
    run.raise_if_cancelled()
    await run.progress(total or 0, total)
    try:
        async with run.sessions() as session, session.begin():
            applied, announced = await staging.apply(session, run.job_id)
            await run.save_checkpoint({}, session=session)
            await run.finish(applied, error_report_file_id=report, session=session)
    except staging.CatalogChanged as change:
        await _forget(run)
        await run.fail(f"The catalog changed during the import ({change}); import the file again.")
    await _announce(run, announced)


async def _read_and_validate(run: JobRun, max_rows: int) -> None:
    """Stage every row of the input file (from the checkpoint on) and run the whole-file
    checks; a file that cannot be imported ends the job (FAILED, JobFailed raised)."""
    assert run.input_file_id is not None
    with tempfile.TemporaryDirectory(prefix="catalog-import-") as directory:
        with _spool_target(directory) as target:
            size = await spool(run.files.open(run.input_file_id), target)
        if size == 0:
            await _file_failed(run, FileProblem("NO_ROWS", "The file is empty."))
        path = Path(directory) / "input"
        try:
            state = await _resume_point(run, path, max_rows)
            if not state.get("finalized"):
                await run.progress(state["staged"], state["total"])
                await _validate(run, path, max_rows, state)
        except FileProblem as problem:
            await _file_failed(run, problem)


# Ends that keep the staged rows: a transient fault or a lost lease (a later run resumes
# from the checkpoint; a worker shutting down, asyncio.CancelledError, too), or a failure
# that discarded them itself.
_RESUMABLE_OR_ENDED: tuple[type[BaseException], ...] = (JobFailed, LeaseLost, *TRANSIENT_ERRORS)


@register(JobKind.IMPORT_PRODUCTS)
async def import_products(run: JobRun) -> None:
    max_rows = int(run.params.get("max_rows") or DEFAULT_MAX_ROWS)
    dry_run = bool(run.params.get("dry_run"))
    on_error = run.params.get("on_error") or "abort"
    if run.input_file_id is None:
        await run.fail("The job has no file to import.")
        return
    try:
        await _read_and_validate(run, max_rows)
        await _conclude(run, dry_run=dry_run, on_error=on_error)
    except _RESUMABLE_OR_ENDED:
        raise  # failed and cleaned up already; or a later run goes on from the checkpoint
    except Exception:  # cancelled (JobCancelled), or a fault the runner reports as internal
        await _forget(run)
        raise
