"""The schedule: which task runs when, and how what fails is tried again. One table.

Celery beat's configuration is built from it (commandcenter/celery.py), and the embedded
scheduler that `manage.py serve` runs without Redis (directory/scheduler.py) runs it
itself, asking the same crontab beat asks for each job's next time. So in production and
in embedded mode the same jobs run at the same times (UTC), with the same retry delays.

A job's retry delays are those of what its run does:
- with a Celery worker, each summary email that its dispatch queues is retried by the
  send task (directory.tasks.summary_send takes its Celery options from here);
- in the embedded scheduler, where the sends run in the dispatch itself, the dispatch is
  run again after each delay and sends what is still unsent.
After the last delay, what is left waits for the job's next run (the summaries' dispatch
catches up on 24 hours).

The table sits in the domain package, beside the tasks it names, rather than next to the
Celery app: the embedded scheduler and the tasks' retries read it, and the domain does
not import the project package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import crontab


@dataclass(frozen=True)
class Backoff:
    """Retries after `first`, then twice as long each time, `retries` times (none: the
    next scheduled run tries again)."""

    first: timedelta = timedelta(0)
    retries: int = 0

    @property
    def delays(self) -> tuple[timedelta, ...]:
        return tuple(self.first * 2**n for n in range(self.retries))

    def celery_options(self) -> dict[str, Any]:
        """The same delays as a Celery task's automatic retries (no jitter)."""
        if not self.retries:
            return {}
        return {
            "autoretry_for": (Exception,),
            "retry_backoff": int(self.first.total_seconds()),
            "retry_backoff_max": int(self.delays[-1].total_seconds()),
            "retry_jitter": False,
            "max_retries": self.retries,
        }


@dataclass(frozen=True)
class Job:
    """A task (by its Celery name) that runs at the times of a cron line, in UTC, or
    every `every` (a cron line cannot say "every 5 seconds")."""

    name: str
    task: str
    cron: str = ""  # minute hour day-of-month month day-of-week
    retry: Backoff = field(default_factory=Backoff)
    every: timedelta | None = None

    @property
    def when(self) -> str:
        return f"every {self.every.total_seconds():g} s" if self.every else f"at {self.cron}"

    def schedule(self) -> crontab | float:
        """As beat's `schedule`: the crontab, or the interval in seconds."""
        return self.every.total_seconds() if self.every else self.crontab()

    def beat_entry(self) -> dict[str, Any]:
        """As an entry of beat's schedule. A job run every few seconds expires unrun
        after that long, so a busy worker never piles them up."""
        entry: dict[str, Any] = {"task": self.task, "schedule": self.schedule()}
        if self.every:
            entry["options"] = {"expires": self.every.total_seconds()}
        return entry

    def crontab(self) -> crontab:
        minute, hour, day_of_month, month_of_year, day_of_week = self.cron.split()
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )

    def next_after(self, when: datetime) -> datetime:
        """The job's first time after `when`, as beat's crontab computes it."""
        if self.every:
            return when + self.every
        start, delta, _ = self.crontab().remaining_delta(when)
        return start + delta  # type: ignore[no-any-return]


SUMMARIES = Job(
    "summaries-hourly",
    "directory.tasks.summaries_dispatch",
    "0 * * * *",  # https://crontab.guru/#0_*_*_*_* : minute 0 of every hour
    # A failed summary email is tried again after 1, 2, 4, 8 and 16 minutes.
    retry=Backoff(first=timedelta(minutes=1), retries=5),
)
EVENTS_PRUNE = Job(
    "events-prune-daily",
    "directory.tasks.events_prune",
    "17 3 * * *",  # https://crontab.guru/#17_3_*_*_* : 03:17 every day
)
SCIM_REQUESTS_PRUNE = Job(
    "scim-requests-prune-daily",
    "directory.tasks.scim_requests_prune",
    "17 3 * * *",  # https://crontab.guru/#17_3_*_*_* : 03:17 every day, with the events
)
DEPROVISION_GRACE = Job(
    "deprovision-grace-hourly",
    "directory.tasks.deprovision_grace_expire",
    "40 * * * *",  # https://crontab.guru/#40_*_*_*_* : minute 40 of every hour
)
CHANGES_PRUNE = Job(
    "changes-prune-daily",
    "directory.tasks.changes_prune",
    "17 3 * * *",  # https://crontab.guru/#17_3_*_*_* : 03:17 every day, with the events
)
LDAP_SYNC = Job(
    "ldap-sync-hourly",
    "directory.tasks.ldap_sync_dispatch",
    "25 * * * *",  # https://crontab.guru/#25_*_*_*_* : minute 25 of every hour
)
# Webhook deliveries: every few seconds, so a change reaches its receivers within
# seconds; a run sends what is due (each endpoint keeps its own backoff).
WEBHOOKS = Job("webhooks-deliver", "webhooks.tasks.webhooks_deliver", every=timedelta(seconds=5))
SCHEDULE = (
    SUMMARIES,
    EVENTS_PRUNE,
    SCIM_REQUESTS_PRUNE,
    DEPROVISION_GRACE,
    CHANGES_PRUNE,
    LDAP_SYNC,
    WEBHOOKS,
)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The table as Celery beat's `beat_schedule` setting."""
    return {job.name: job.beat_entry() for job in SCHEDULE}
