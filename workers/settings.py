"""arq WorkerSettings: the jobs, their schedule and limits, as plain data.

What the jobs need at run time (the session factory, the mail transport, the Redis connection,
the password-reset policy) arrives in their `ctx`, put there by the composition root
(`app.worker`), which also supplies the Redis settings from the configuration.
"""

from __future__ import annotations

from typing import ClassVar

from arq import cron, func

from workers.emails import MAX_ATTEMPTS, send_email, sweep_outbox
from workers.housekeeping import purge_expired_auth, purge_expired_idempotency_keys
from workers.password_resets import process_password_reset, sweep_password_resets


class WorkerSettings:
    functions: ClassVar = [
        func(send_email, max_tries=MAX_ATTEMPTS),
        func(process_password_reset, max_tries=MAX_ATTEMPTS),
    ]
    cron_jobs: ClassVar = [
        cron(sweep_outbox, second={15}, run_at_startup=True, unique=True),
        cron(sweep_password_resets, second={45}, run_at_startup=True, unique=True),
        cron(purge_expired_auth, hour={3}, minute={17}, second={0}, unique=True),
        cron(purge_expired_idempotency_keys, minute={41}, second={0}, unique=True),
    ]
    job_timeout = 60
    keep_result = 3600
