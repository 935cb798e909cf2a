"""The worker's log keeps arq's lines for real jobs and drops them for the routine sweeps."""

from __future__ import annotations

import logging

import pytest

from app.worker import RoutineCronFilter


def _record(level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("arq.worker", level, __file__, 1, msg, args, None)


@pytest.mark.parametrize("name", ["cron:sweep_jobs", "cron:sweep_outbox"])
def test_routine_sweep_start_and_finish_lines_are_dropped(name: str) -> None:
    keep = RoutineCronFilter().filter
    assert not keep(_record(logging.INFO, "%6.2fs → %s(%s)%s", 0.01, name, "", ""))
    assert not keep(_record(logging.INFO, "%6.2fs ← %s ● %s", 0.01, name, "{}"))


def test_other_jobs_and_failures_are_kept() -> None:
    keep = RoutineCronFilter().filter
    assert keep(_record(logging.INFO, "%6.2fs → %s(%s)%s", 0.0, "ab12:send_email", "1", ""))
    assert keep(_record(logging.INFO, "%6.2fs ← %s ● %s", 0.0, "cron:purge_old_files", "3"))
    failed = _record(logging.ERROR, "%6.2fs ! %s failed, %s: %s", 0.0, "cron:sweep_jobs", "E", "x")
    assert keep(failed)
    assert keep(_record(logging.INFO, "Starting worker for %d functions: %s", 3, "cron:sweep_jobs"))
