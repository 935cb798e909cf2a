"""arq WorkerSettings: plain data. `catalog worker` passes the Redis settings from config."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings

from app.settings import Settings, get_settings
from db.session import create_engine, create_session_factory
from workers.emails import send_email, sweep_outbox
from workers.housekeeping import purge_expired_auth
from workers.mailer import mailer_from_settings

logger = logging.getLogger("catalog.worker")


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    assert settings.database_url, "DATABASE_URL must be set for the worker"
    ctx["settings"] = settings
    # Jobs (imports, exports) may run long statements: no statement timeout here.
    ctx["engine"] = create_engine(settings.database_url, pool_size=5)
    ctx["sessions"] = create_session_factory(ctx["engine"])
    ctx["mailer"] = mailer_from_settings(settings)
    logger.info("worker ready (mail transport: %s)", ctx["mailer"].name)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


class WorkerSettings:
    functions: ClassVar = [send_email]
    cron_jobs: ClassVar = [
        cron(sweep_outbox, second={15}, run_at_startup=True, unique=True),
        cron(purge_expired_auth, hour={3}, minute={17}, second={0}, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 8
    job_timeout = 60
    keep_result = 3600
    redis_settings = RedisSettings()


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)
