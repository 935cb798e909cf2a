"""`catalog worker` that survives outages: Redis or PostgreSQL going away is waited out.

arq's worker ends its main loop with a ConnectionError when Redis goes away and never comes
back by itself. Here it runs under a supervisor that:

- before (re)starting it, waits until Redis and PostgreSQL both answer, retrying with backoff
  (1 s doubling to 30 s) and logging the loss once and the recovery once;
- when the worker stops on a connection error, closes what it can (the running jobs are
  cancelled: their leases expire and `sweep_jobs` resumes them from their checkpoints), then
  waits and starts a new worker, whose startup sweeps enqueue whatever was promised meanwhile
  (job and email outboxes);
- while it runs, probes PostgreSQL every few seconds, so an outage and its end are logged even
  when no job is running (jobs meeting the outage retry on their own).

SIGTERM and SIGINT stop it: the running worker is closed and the supervisor returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from arq.worker import Worker
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.settings import Settings
from app.worker import build_worker
from db.session import create_engine
from workers.jobs.runner import TRANSIENT_ERRORS

logger = logging.getLogger("catalog.worker")

# What a lost connection raises: the runner's transient faults, and any driver error.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, DBAPIError)
CLOSE_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, asyncio.CancelledError)
MIN_BACKOFF = 1.0
MAX_BACKOFF = 30.0
PROBE_INTERVAL = 5.0


class Probes:
    """Is Redis up, is PostgreSQL up: one cheap round trip each, never raising."""

    def __init__(self, settings: Settings) -> None:
        assert settings.redis_url, "REDIS_URL must be set for the worker"
        assert settings.database_url, "DATABASE_URL must be set for the worker"
        self.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        self.engine = create_engine(settings.database_url, pool_size=1)

    async def redis_up(self) -> bool:
        try:
            await self.redis.ping()
        except CONNECTION_ERRORS:
            return False
        return True

    async def postgres_up(self) -> bool:
        try:
            async with asyncio.timeout(5), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except CONNECTION_ERRORS:
            return False
        return True

    async def close(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()


class Outages:
    """Logs each service's loss once and its recovery once."""

    def __init__(self) -> None:
        self.down: set[str] = set()

    def report(self, service: str, up: bool, detail: str = "") -> None:
        if not up and service not in self.down:
            self.down.add(service)
            logger.error("%s is unreachable%s; waiting for it", service, detail)
        elif up and service in self.down:
            self.down.discard(service)
            logger.warning("%s is reachable again; carrying on", service)


async def wait_for_services(probes: Probes, outages: Outages, stop: asyncio.Event) -> bool:
    """Until both answer (True), or until asked to stop (False)."""
    backoff = MIN_BACKOFF
    while not stop.is_set():
        redis_up, postgres_up = await probes.redis_up(), await probes.postgres_up()
        outages.report("Redis", redis_up)
        outages.report("PostgreSQL", postgres_up)
        if redis_up and postgres_up:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)
    return False


async def watch_postgres(probes: Probes, outages: Outages) -> None:
    while True:
        await asyncio.sleep(PROBE_INTERVAL)
        outages.report("PostgreSQL", await probes.postgres_up())


async def close_quietly(worker: Worker) -> None:
    """Close a worker whose Redis may be gone: cancel its jobs, dispose its database engine."""
    for task in list(worker.tasks.values()):
        task.cancel()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    try:
        await asyncio.wait_for(worker.close(), 10)
    except CLOSE_ERRORS:
        # close() stopped before its shutdown hook: dispose the engine ourselves.
        engine = worker.ctx.get("engine")
        if engine is not None:
            await engine.dispose()
        with contextlib.suppress(*CONNECTION_ERRORS):
            await worker.pool.close(close_connection_pool=True)


async def run_supervised(settings: Settings, *, burst: bool = False, **overrides: Any) -> int:
    """Run the worker until SIGTERM/SIGINT (or, with `burst`, until the queue is empty)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    probes = Probes(settings)
    outages = Outages()
    watcher = asyncio.create_task(watch_postgres(probes, outages))
    try:
        while await wait_for_services(probes, outages, stop):
            worker = build_worker(settings, burst=burst, handle_signals=False, **overrides)
            running = asyncio.create_task(worker.main())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not running.done():  # asked to stop
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError, *CONNECTION_ERRORS):
                    await running
                await close_quietly(worker)
                return 0
            error = running.exception()
            await close_quietly(worker)
            if error is None:
                return 0  # a burst run found the queue empty
            if not isinstance(error, CONNECTION_ERRORS):
                raise error
            outages.report("Redis", await probes.redis_up(), f" ({type(error).__name__})")
            outages.report("PostgreSQL", await probes.postgres_up())
            logger.warning("the worker stopped on %s; restarting it", type(error).__name__)
        return 0
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await probes.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
