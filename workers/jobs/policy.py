"""How jobs run: lease, heartbeat, retries (values from the settings, via the arq ctx)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class JobPolicy:
    # A running job whose heartbeat is older than this is taken over by another worker.
    lease: timedelta = timedelta(seconds=30)
    # How often a running job renews its lease and looks for a cancel request.
    heartbeat: timedelta = timedelta(seconds=5)
    # Runs of a job in all (first run, retries after transient faults, takeovers).
    max_attempts: int = 5
    # Backoff after a transient fault: base * 2**(attempt-1), at most `retry_max`.
    retry_base: timedelta = timedelta(seconds=5)
    retry_max: timedelta = timedelta(minutes=5)
    # Progress is written (and published) at most this often; the final state always.
    progress_interval: timedelta = timedelta(seconds=0.25)

    def backoff(self, attempt: int) -> timedelta:
        delay: timedelta = self.retry_base * 2 ** max(attempt - 1, 0)
        return min(delay, self.retry_max)
