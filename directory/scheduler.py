"""The schedule without Celery beat, for embedded mode (`manage.py serve` runs it).

It runs the jobs of directory.schedule, the table beat's configuration is built from, in
this process and at the times beat would (a few seconds past them). Tasks are eager
without REDIS_URL, so the work is the same code a Celery worker runs. A run that failed
(for the summaries: an email is still unsent) runs again after the job's retry delays,
as a worker's retries would; the claim in directory.summaries keeps any number of runs
from sending a summary twice.

Every job also runs when the scheduler starts, catching up on whatever came due while it
was stopped: the summaries' dispatch sends those of the last 24 hours, and pruning old
events again is harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from directory.schedule import SCHEDULE, SUMMARIES, Job
from directory.summaries import summaries_unsent

logger = logging.getLogger(__name__)

# A few seconds past each time, so the clock of this process being slightly behind the
# web workers' never makes the hour that just ended look unfinished.
PAST_THE_MINUTE = timedelta(seconds=5)


def _summaries_left() -> str | None:
    # The sends run inside the dispatch here, and a failed one is logged, not raised.
    unsent = summaries_unsent()
    return f"{unsent} summary email(s) not sent yet" if unsent else None


# What a job's run can leave undone without raising: it then counts as failed.
LEFT_UNDONE: dict[str, Callable[[], str | None]] = {SUMMARIES.name: _summaries_left}


def next_run_at(*, now: datetime, failures: int, job: Job = SUMMARIES) -> datetime:
    """When to run `job` next: just past its next time, or sooner after `failures`
    failed runs in a row while its retry delays last."""
    scheduled = job.next_after(now) + (timedelta(0) if job.every else PAST_THE_MINUTE)
    delays = job.retry.delays
    if not 0 < failures <= len(delays):
        return scheduled
    return min(scheduled, now + delays[failures - 1])


class Scheduler:
    """Runs the schedule until stop() (a signal handler calls it)."""

    def __init__(
        self, *, jobs: tuple[Job, ...] = SCHEDULE, say: Callable[[str], None] = logger.info
    ) -> None:
        self.jobs = jobs
        self.say = say
        self.running = True
        self.failures = {job.name: 0 for job in jobs}
        self.next_run: dict[str, datetime] = {}  # a job not in it yet is due at once
        self.last_run: dict[str, datetime] = {}

    def stop(self) -> None:
        self.running = False

    def due(self, now: datetime) -> list[Job]:
        return [j for j in self.jobs if j.name not in self.next_run or self.next_run[j.name] <= now]

    def run_once(self) -> bool:
        """Run the jobs that are due (every job, the first time); False if one failed."""
        close_old_connections()  # a long-lived process: drop connections the DB closed
        ok = True
        for job in self.due(timezone.now()):
            succeeded = self._run(job)
            self.failures[job.name] = 0 if succeeded else self.failures[job.name] + 1
            self.next_run[job.name] = next_run_at(
                now=timezone.now(), failures=self.failures[job.name], job=job
            )
            ok = ok and succeeded
        return ok

    def _run(self, job: Job) -> bool:
        try:
            # apply(): run here and now; the sends it queues run eagerly too.
            import_string(job.task).apply()
            self.last_run[job.name] = timezone.now()
            left = LEFT_UNDONE[job.name]() if job.name in LEFT_UNDONE else None
        except Exception as e:  # the database may be away: keep the schedule alive
            self.say(f"Scheduler: {job.name} failed, will retry: {e}")
            return False
        if left:
            self.say(f"Scheduler: {left}, will retry")
        return not left

    def run(self) -> None:
        """Run every job now (catching up on what was missed while stopped), then at its
        times."""
        times = ", ".join(f"{job.name} {job.when}" for job in self.jobs)
        self.say(f"Scheduler: {times} (UTC)")
        while self.running:
            if self.due(timezone.now()):
                self.run_once()
            # Short sleeps, so a stop signal ends the loop within a second.
            time.sleep(1)
