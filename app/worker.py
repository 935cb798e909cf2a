"""The worker's composition: settings → database and mail transport → the jobs' arq `ctx`.

`catalog worker` runs `workers.settings.WorkerSettings` with these hooks; the jobs themselves
read only their `ctx` (`sessions`, `mailer`, `password_resets`, and arq's own `redis`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker, create_worker

from app.settings import Settings, get_settings
from db.session import create_engine, create_session_factory
from workers.files import PostgresFileStore
from workers.jobs.policy import JobPolicy
from workers.mailer import LogMailer, Mailer, SmtpMailer
from workers.password_resets import ResetPolicy
from workers.settings import WorkerSettings

logger = logging.getLogger("catalog.worker")

# Crons that run every few seconds: arq's own start/finish lines for them would drown the log
# (the sweeps log by themselves when they find work; a failure is still logged by arq).
ROUTINE_CRONS = ("cron:sweep_jobs", "cron:sweep_outbox", "cron:sweep_password_resets")


class RoutineCronFilter(logging.Filter):
    """Drops arq's INFO "→ job started" / "← job finished" lines of the routine sweeps."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.args, tuple):
            return True
        if not isinstance(record.msg, str) or not ("→" in record.msg or "←" in record.msg):
            return True
        return not any(isinstance(arg, str) and arg.endswith(ROUTINE_CRONS) for arg in record.args)


def mailer_from_settings(settings: Settings) -> Mailer:
    if not settings.sends_smtp or not settings.smtp_host:
        return LogMailer()
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
    )


def job_policy(settings: Settings) -> JobPolicy:
    return JobPolicy(
        lease=timedelta(seconds=settings.job_lease_seconds),
        heartbeat=timedelta(
            seconds=min(settings.job_heartbeat_seconds, settings.job_lease_seconds / 3)
        ),
        max_attempts=settings.job_max_attempts,
        retry_base=timedelta(seconds=settings.job_retry_base_seconds),
    )


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.pop("settings", None) or get_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL must be set for the worker")
    # Jobs (imports, exports) may run long statements: no statement timeout here.
    # At most 10 connections, kept (db.session: no overflow): as many as 5 + 5 overflow were.
    engine = create_engine(settings.database_url, pool_size=10)
    ctx["engine"] = engine
    ctx["sessions"] = create_session_factory(engine)
    ctx["mailer"] = mailer_from_settings(settings)
    ctx["password_resets"] = ResetPolicy(
        lifetime=timedelta(minutes=settings.password_reset_minutes),
        per_hour=settings.password_resets_per_hour,
        public_url=settings.public_url,
    )
    ctx["files"] = PostgresFileStore(ctx["sessions"])
    ctx["job_policy"] = job_policy(settings)
    ctx["file_retention"] = timedelta(days=settings.file_retention_days)
    logger.info("worker ready (mail transport: %s)", ctx["mailer"].name)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    """An arq worker for the configured Redis and database, with `overrides` (tests: burst)."""
    assert settings.redis_url, "REDIS_URL must be set for the worker"
    arq_log = logging.getLogger("arq.worker")
    if not any(isinstance(f, RoutineCronFilter) for f in arq_log.filters):
        arq_log.addFilter(RoutineCronFilter())
    worker: Worker = create_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(settings.redis_url),
        ctx={"settings": settings},
        on_startup=startup,
        on_shutdown=shutdown,
        **overrides,
    )
    return worker
