"""The hourly schedule without Celery beat, for embedded mode (`manage.py serve` runs it).

It runs the tasks of the beat schedule (commandcenter/celery.py) in this process: the
summaries at minute 0, event pruning once a day. Tasks are eager without REDIS_URL, so
the work is the same code a Celery worker runs. A summary whose send failed is tried
again with backoff, as a worker's retries would; the claim in directory.summaries keeps
any number of runs from sending one twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import close_old_connections
from django.utils import timezone

from directory.summaries import hour_start, summaries_unsent
from directory.tasks import events_prune as events_prune_task
from directory.tasks import summaries_dispatch as summaries_dispatch_task

logger = logging.getLogger(__name__)

# A few seconds past minute 0, so the clock of this process being slightly behind the
# database's never makes the hour that just ended look unfinished.
PAST_THE_HOUR = timedelta(seconds=5)
# After a failed run: 1, 2, 4, 8, 16 minutes, then hourly (the catch-up covers 24 h).
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 2, 4, 8, 16))
PRUNE_EVERY = timedelta(days=1)


def next_run_at(*, now: datetime, failures: int) -> datetime:
    """When to run next: the next minute 0, or sooner after `failures` failed runs."""
    next_hour = hour_start(now) + timedelta(hours=1) + PAST_THE_HOUR
    if failures == 0:
        return next_hour
    delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
    return min(next_hour, now + delay)


class Scheduler:
    """Runs the schedule until stop() (a signal handler calls it)."""

    def __init__(self, *, say: Callable[[str], None] = logger.info) -> None:
        self.say = say
        self.running = True
        self.failures = 0
        self.last_prune: datetime | None = None

    def stop(self) -> None:
        self.running = False

    def run_once(self) -> bool:
        """Dispatch the due summaries (and prune, once a day); False if some are unsent."""
        close_old_connections()  # a long-lived process: drop connections the DB closed
        try:
            # apply(): run here and now; the sends it queues run eagerly too.
            summaries_dispatch_task.apply()
            now = timezone.now()
            if self.last_prune is None or now - self.last_prune >= PRUNE_EVERY:
                events_prune_task.apply()
                self.last_prune = now
            unsent = summaries_unsent()
        except Exception as e:  # the database may be away: keep the schedule alive
            self.say(f"Scheduler: run failed, will retry: {e}")
            return False
        if unsent:
            self.say(f"Scheduler: {unsent} summary email(s) not sent yet, will retry")
        return unsent == 0

    def run(self) -> None:
        """Run now (catching up on hours missed while stopped), then at every minute 0."""
        self.say("Scheduler: hourly summaries at minute 0, event pruning daily")
        next_run = timezone.now()
        while self.running:
            if timezone.now() >= next_run:
                self.failures = 0 if self.run_once() else self.failures + 1
                next_run = next_run_at(now=timezone.now(), failures=self.failures)
            # Short sleeps, so a stop signal ends the loop within a second.
            time.sleep(1)
