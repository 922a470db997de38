"""One schedule: Celery beat's entries and the embedded scheduler both come from the table
in directory.schedule, so they run the same jobs at the same times, with the same retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from celery.utils.time import get_exponential_backoff_interval

from commandcenter.celery import app as celery_app
from directory.schedule import (
    CHANGES_PRUNE,
    DEPROVISION_GRACE,
    EVENTS_PRUNE,
    LDAP_SYNC,
    SCHEDULE,
    SCIM_REQUESTS_PRUNE,
    SUMMARIES,
    WEBHOOKS,
    Backoff,
    Job,
)
from directory.scheduler import PAST_THE_MINUTE, Scheduler, next_run_at
from directory.tasks import summary_send as summary_send_task

H = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_beats_entries_are_the_tables() -> None:
    # The task modules a worker imports when it starts (autodiscovery): without it the
    # registry holds only those this test process happened to import.
    celery_app.loader.import_default_modules()
    beat = celery_app.conf.beat_schedule
    assert sorted(beat) == sorted(job.name for job in SCHEDULE)
    for job in SCHEDULE:
        assert beat[job.name]["task"] == job.task
        assert beat[job.name]["schedule"] == job.schedule()
        if job.every:  # a run every few seconds is dropped rather than queued up
            assert beat[job.name]["options"] == {"expires": job.every.total_seconds()}
        assert job.task in celery_app.tasks  # a task a worker knows by that name


def test_the_tables_times_are_the_hour_and_03_17() -> None:
    hourly: Any = SUMMARIES.crontab()  # celery-types omits the parsed fields
    daily: Any = EVENTS_PRUNE.crontab()
    assert hourly.minute == {0} and hourly.hour == set(range(24))
    assert daily.minute == {17} and daily.hour == {3}
    assert daily.day_of_month == set(range(1, 32)) and daily.day_of_week == set(range(7))


@pytest.mark.parametrize(
    "now",
    [H, H + timedelta(minutes=59, seconds=59), H.replace(hour=3, minute=17), H.replace(hour=23)],
)
def test_the_embedded_scheduler_runs_each_job_when_beat_would(now: datetime) -> None:
    for name, entry in celery_app.conf.beat_schedule.items():
        job = next(j for j in SCHEDULE if j.name == name)
        if isinstance(entry["schedule"], float):  # beat runs it every so many seconds
            assert next_run_at(now=now, failures=0, job=job) == now + timedelta(
                seconds=entry["schedule"]
            )
            continue
        start, delta, _ = entry["schedule"].remaining_delta(now)
        assert next_run_at(now=now, failures=0, job=job) == start + delta + PAST_THE_MINUTE


def test_the_embedded_scheduler_prunes_next_at_03_17() -> None:
    assert next_run_at(now=H, failures=0, job=EVENTS_PRUNE) == datetime(
        2026, 11, 25, 3, 17, tzinfo=UTC
    ) + timedelta(seconds=5)
    assert next_run_at(now=H.replace(hour=2), failures=0, job=EVENTS_PRUNE) == datetime(
        2026, 11, 24, 3, 17, 5, tzinfo=UTC
    )


@pytest.mark.django_db(transaction=True)  # run_once drops connections, as a long-lived process
def test_after_its_first_run_the_embedded_scheduler_waits_for_the_tables_times() -> None:
    scheduler = Scheduler(say=lambda text: None)
    with time_machine.travel(H + timedelta(minutes=20), tick=False):
        assert [job.name for job in scheduler.due(H)] == [job.name for job in SCHEDULE]
        assert scheduler.run_once() is True
    assert scheduler.next_run == {
        SUMMARIES.name: H + timedelta(hours=1, seconds=5),
        EVENTS_PRUNE.name: datetime(2026, 11, 25, 3, 17, 5, tzinfo=UTC),
        SCIM_REQUESTS_PRUNE.name: datetime(2026, 11, 25, 3, 17, 5, tzinfo=UTC),
        DEPROVISION_GRACE.name: H + timedelta(minutes=40, seconds=5),
        CHANGES_PRUNE.name: datetime(2026, 11, 25, 3, 17, 5, tzinfo=UTC),
        LDAP_SYNC.name: H + timedelta(minutes=25, seconds=5),
        WEBHOOKS.name: H + timedelta(minutes=20, seconds=5),  # every 5 seconds
    }
    assert scheduler.due(H + timedelta(minutes=20, seconds=4)) == []
    assert scheduler.due(H + timedelta(minutes=39)) == [LDAP_SYNC, WEBHOOKS]
    assert scheduler.due(H + timedelta(minutes=59)) == [DEPROVISION_GRACE, LDAP_SYNC, WEBHOOKS]
    assert scheduler.due(datetime(2026, 11, 25, 3, 17, 5, tzinfo=UTC)) == list(SCHEDULE)


def test_a_workers_retries_of_a_summary_wait_as_long_as_the_embedded_schedulers() -> None:
    task: Any = summary_send_task
    assert SUMMARIES.retry.delays == tuple(timedelta(minutes=m) for m in (1, 2, 4, 8, 16))
    assert task.max_retries == len(SUMMARIES.retry.delays)
    worker = [
        timedelta(
            seconds=get_exponential_backoff_interval(
                factor=task.retry_backoff,
                retries=n,
                maximum=task.retry_backoff_max,
                full_jitter=task.retry_jitter,
            )
        )
        for n in range(task.max_retries)
    ]
    now = H + timedelta(seconds=5)
    embedded = [
        next_run_at(now=now, failures=n, job=SUMMARIES) - now
        for n in range(1, len(SUMMARIES.retry.delays) + 1)
    ]
    assert worker == embedded == list(SUMMARIES.retry.delays)


def test_a_job_without_retries_waits_for_its_next_time() -> None:
    job = Job("nightly", "directory.tasks.events_prune", "30 1 * * *")
    assert job.retry == Backoff() and job.retry.celery_options() == {}
    assert next_run_at(now=H, failures=3, job=job) == datetime(2026, 11, 25, 1, 30, 5, tzinfo=UTC)
