"""arq WorkerSettings: the jobs, their schedule and limits, as plain data.

What the jobs need at run time (the session factory, the mail transport, the Redis connection,
the password-reset policy) arrives in their `ctx`, put there by the composition root
(`app.worker`), which also supplies the Redis settings from the configuration.
"""

from __future__ import annotations

from typing import ClassVar

from arq import cron, func

from workers.emails import MAX_ATTEMPTS, send_email, sweep_outbox
from workers.exports import products as product_exports
from workers.housekeeping import purge_expired_auth
from workers.jobs.outbox import sweep_jobs
from workers.jobs.runner import run_job
from workers.password_resets import process_password_reset, sweep_password_resets
from workers.retention import purge_old_files

# The job kinds this worker runs (each module registers its handler with the runner).
JOB_HANDLERS = (product_exports,)


class WorkerSettings:
    functions: ClassVar = [
        func(send_email, max_tries=MAX_ATTEMPTS),
        func(process_password_reset, max_tries=MAX_ATTEMPTS),
        # The runner counts attempts in the jobs table (max_attempts) and retries by enqueueing
        # a new arq job: arq itself runs each one once. Imports and exports may take hours. No
        # result is kept, so an id may be enqueued again once its run ended (a retried job that
        # never ran); a late duplicate finds the job ended or leased and does nothing.
        func(run_job, max_tries=1, timeout=6 * 3600, keep_result=0),
    ]
    cron_jobs: ClassVar = [
        cron(sweep_outbox, second={15}, run_at_startup=True, unique=True),
        cron(sweep_password_resets, second={45}, run_at_startup=True, unique=True),
        cron(sweep_jobs, second=set(range(0, 60, 5)), run_at_startup=True, unique=True),
        cron(purge_old_files, hour={3}, minute={37}, second={0}, unique=True),
        cron(purge_expired_auth, hour={3}, minute={17}, second={0}, unique=True),
    ]
    job_timeout = 60
    keep_result = 3600
